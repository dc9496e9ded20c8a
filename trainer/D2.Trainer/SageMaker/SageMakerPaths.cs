namespace D2.Trainer.SageMaker;

/// <summary>
/// The training container's file system contract under one base folder: /opt/ml in SageMaker, anywhere else with
/// SAGEMAKER_BASE_DIR (as in SageMaker's training toolkit), which is how tests and the local SageMaker run the trainer.
/// The toolkit's SM_MODEL_DIR, SM_OUTPUT_DATA_DIR and SM_CHANNEL_&lt;NAME&gt; variables override single paths.
/// </summary>
internal sealed class SageMakerPaths
{
    public const string BaseDirectoryVariable = "SAGEMAKER_BASE_DIR";
    public const string DefaultBaseDirectory = "/opt/ml";

    private readonly Func<string, string?> _environment;

    public SageMakerPaths(string baseDirectory, Func<string, string?>? environment = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(baseDirectory);
        BaseDirectory = Path.GetFullPath(baseDirectory);
        _environment = environment ?? Environment.GetEnvironmentVariable;
    }

    /// <summary>The paths of this process: SAGEMAKER_BASE_DIR or /opt/ml.</summary>
    public static SageMakerPaths FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        return new SageMakerPaths(environment(BaseDirectoryVariable) is { Length: > 0 } dir ? dir : DefaultBaseDirectory, environment);
    }

    public string BaseDirectory { get; }
    public string InputDirectory => Path.Combine(BaseDirectory, "input");
    public string ConfigDirectory => Path.Combine(InputDirectory, "config");
    public string HyperparametersFile => Path.Combine(ConfigDirectory, "hyperparameters.json");
    public string ResourceConfigFile => Path.Combine(ConfigDirectory, "resourceconfig.json");
    public string InputDataConfigFile => Path.Combine(ConfigDirectory, "inputdataconfig.json");
    public string DataDirectory => Path.Combine(InputDirectory, "data");
    public string ModelDirectory => Override("SM_MODEL_DIR") ?? Path.Combine(BaseDirectory, "model");
    public string OutputDirectory => Path.Combine(BaseDirectory, "output");
    public string OutputDataDirectory => Override("SM_OUTPUT_DATA_DIR") ?? Path.Combine(OutputDirectory, "data");
    public string FailureFile => Path.Combine(OutputDirectory, "failure");
    public string CheckpointDirectory => Path.Combine(BaseDirectory, "checkpoints");
    public string CodeDirectory => Path.Combine(BaseDirectory, "code");

    /// <summary>Whether a SageMaker job is being run: its hyperparameters.json exists.</summary>
    public bool IsTrainingJob => File.Exists(HyperparametersFile);

    /// <summary>
    /// A path written for the real container (<c>/opt/ml/input/data/model/model_final.pth</c>) moved under this base, so
    /// the same hyperparameters work in the local SageMaker and in tests; other paths are returned as they are.
    /// </summary>
    public string Rebase(string path)
    {
        const string prefix = DefaultBaseDirectory + "/";
        return path.StartsWith(prefix, StringComparison.Ordinal) && BaseDirectory != DefaultBaseDirectory
            ? Path.Combine(BaseDirectory, path[prefix.Length..])
            : path;
    }

    /// <summary>The folder of an input channel (File mode).</summary>
    public string Channel(string name) => Override($"SM_CHANNEL_{name.ToUpperInvariant()}") ?? Path.Combine(DataDirectory, name);

    private string? Override(string variable) => _environment(variable) is { Length: > 0 } value ? Path.GetFullPath(value) : null;
}
