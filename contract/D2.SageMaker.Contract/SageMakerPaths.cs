namespace D2.SageMaker.Contract;

/// <summary>
/// A container's file system contract under one base folder: /opt/ml in SageMaker, anywhere else with
/// SAGEMAKER_BASE_DIR (as in SageMaker's training toolkit), which is how tests and the local SageMaker run the trainer
/// and the server. The toolkit's SM_MODEL_DIR, SM_OUTPUT_DATA_DIR and SM_CHANNEL_&lt;NAME&gt; variables override single paths.
/// </summary>
public sealed class SageMakerPaths
{
    public const string DefaultBaseDirectory = "/opt/ml";

    /// <summary>The file names under input/config that SageMaker writes before it starts a training container.</summary>
    public const string HyperparametersFileName = "hyperparameters.json";

    public const string ResourceConfigFileName = "resourceconfig.json";

    public const string InputDataConfigFileName = "inputdataconfig.json";

    private readonly Func<string, string?> _environment;

    /// <param name="environment">reads the override variables; null: this process's environment</param>
    public SageMakerPaths(string baseDirectory, Func<string, string?>? environment = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        BaseDirectory = Path.GetFullPath(baseDirectory);
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    /// <summary>The paths of this process: SAGEMAKER_BASE_DIR or /opt/ml, with the SM_* overrides.</summary>
    public static SageMakerPaths FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        return new SageMakerPaths(environment(SageMakerEnvironment.BaseDirectory) is { Length: > 0 } dir ? dir : DefaultBaseDirectory, environment);
    }

    /// <summary>The tree under <paramref name="baseDirectory"/> exactly, no SM_* overrides: what a host (the local SageMaker) prepares for a container.</summary>
    public static SageMakerPaths Under(string baseDirectory) => new(baseDirectory, static _ => null);

    public string BaseDirectory { get; }
    public string InputDirectory => Path.Combine(BaseDirectory, "input");
    public string ConfigDirectory => Path.Combine(InputDirectory, "config");
    public string HyperparametersFile => Path.Combine(ConfigDirectory, HyperparametersFileName);
    public string ResourceConfigFile => Path.Combine(ConfigDirectory, ResourceConfigFileName);
    public string InputDataConfigFile => Path.Combine(ConfigDirectory, InputDataConfigFileName);
    public string DataDirectory => Path.Combine(InputDirectory, "data");
    public string ModelDirectory => Override(SageMakerEnvironment.ModelDirectory) ?? Path.Combine(BaseDirectory, "model");
    public string OutputDirectory => Path.Combine(BaseDirectory, "output");
    public string OutputDataDirectory => Override(SageMakerEnvironment.OutputDataDirectory) ?? Path.Combine(OutputDirectory, "data");
    public string IntermediateOutputDirectory => Path.Combine(OutputDirectory, "intermediate");
    public string FailureFile => Path.Combine(OutputDirectory, "failure");
    public string CheckpointDirectory => Path.Combine(BaseDirectory, "checkpoints");
    public string CodeDirectory => Path.Combine(BaseDirectory, "code");

    /// <summary>Whether a SageMaker job is being run: its hyperparameters.json exists.</summary>
    public bool IsTrainingJob => File.Exists(HyperparametersFile);

    /// <summary>Whether <paramref name="path"/> is written for the real container, i.e. lies under /opt/ml.</summary>
    public static bool IsContainerPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return path.StartsWith(DefaultBaseDirectory + "/", StringComparison.Ordinal);
    }

    /// <summary>
    /// A path written for the real container (<c>/opt/ml/input/data/model/model_final.pth</c>) moved under this base, so
    /// the same hyperparameters work in the local SageMaker and in tests; other paths are returned as they are.
    /// </summary>
    public string Rebase(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return IsContainerPath(path) && BaseDirectory != DefaultBaseDirectory
            ? Path.Combine(BaseDirectory, path[(DefaultBaseDirectory.Length + 1)..])
            : path;
    }

    /// <summary>The folder of an input channel (File mode).</summary>
    public string Channel(string name) => Override(SageMakerEnvironment.Channel(name)) ?? Path.Combine(DataDirectory, name);

    private string? Override(string variable) => _environment(variable) is { Length: > 0 } value ? Path.GetFullPath(value) : null;
}
