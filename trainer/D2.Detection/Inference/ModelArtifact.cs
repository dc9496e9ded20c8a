using D2.Detection.Checkpoint;
using D2.Detection.Config;
using static TorchSharp.torch;

namespace D2.Detection.Inference;

/// <summary>
/// The model artifact (the contents of <c>/opt/ml/model</c>, packed by SageMaker into model.tar.gz): weights under
/// Detectron2 parameter names (<c>model_final.safetensors</c>, readable from Python too), the fully resolved
/// <c>config.yaml</c> and <c>metadata.json</c> (<see cref="ModelMetadata"/>).
/// <see cref="Read"/> also takes a folder that Detectron2 wrote: its dumped <c>config.yaml</c> and <c>model_final.pth</c>
/// (or a model-zoo <c>.pkl</c>), with <c>metadata.json</c> optional (classes are then named by index).
/// </summary>
public sealed class ModelArtifact
{
    public const string WeightsFileName = "model_final.safetensors";
    public const string ConfigFileName = "config.yaml";
    public const string MetadataFileName = "metadata.json";

    ModelArtifact(string directory, string weightsPath, CfgNode config, ModelMetadata metadata)
    {
        Directory = directory;
        WeightsPath = weightsPath;
        Config = config;
        Metadata = metadata;
    }

    /// <summary>The artifact's folder (full path).</summary>
    public string Directory { get; }

    /// <summary>Extensions of weight files, in order of preference for <c>model_final.*</c>.</summary>
    public static readonly IReadOnlyList<string> WeightExtensions = [".safetensors", ".pth", ".pkl", ".pt"];

    /// <summary>Detectron2's checkpointer writes the name of its newest checkpoint here.</summary>
    const string LastCheckpointFileName = "last_checkpoint";

    /// <summary>The weights: <c>model_final.*</c> (.safetensors, .pth, .pkl, .pt), else the checkpoint Detectron2's
    /// <c>last_checkpoint</c> names, else the folder's only weight file.</summary>
    public string WeightsPath { get; }

    public string ConfigPath => Path.Combine(Directory, ConfigFileName);

    public string MetadataPath => Path.Combine(Directory, MetadataFileName);

    /// <summary>The resolved config (defaults + config.yaml), validated and frozen.</summary>
    public CfgNode Config { get; }

    public ModelMetadata Metadata { get; }

    /// <summary>
    /// Writes the artifact into <paramref name="outputDirectory"/>: weights, then config, then metadata, each to a temporary
    /// name that is renamed when complete, so a reader never sees a partial file (and metadata.json marks a finished artifact).
    /// </summary>
    /// <param name="classNames">names by class index; as many as MODEL.ROI_HEADS.NUM_CLASSES</param>
    /// <param name="trainingJobName">the training job that produced the weights</param>
    /// <param name="gitRevision">the trainer's source revision</param>
    /// <param name="finalMetrics">Detectron2's results dict of the final evaluation (task -> metric -> percent)</param>
    /// <returns>the artifact as <see cref="Read"/> sees it</returns>
    public static ModelArtifact Write(string outputDirectory, nn.Module model, CfgNode cfg, IReadOnlyList<string> classNames,
        string? trainingJobName = null, string? gitRevision = null,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? finalMetrics = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(classNames);
        var numClasses = cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES");
        if (classNames.Count != numClasses)
            throw new ArgumentException($"{classNames.Count} class names were given but MODEL.ROI_HEADS.NUM_CLASSES is {numClasses}.", nameof(classNames));
        var directory = Path.GetFullPath(outputDirectory);
        System.IO.Directory.CreateDirectory(directory);
        var metadata = new ModelMetadata(classNames, cfg.Get<string>("INPUT.FORMAT"), trainingJobName, gitRevision, finalMetrics);
        DetectionCheckpointer.Save(model, Path.Combine(directory, WeightsFileName));
        AtomicFile.WriteAllText(Path.Combine(directory, ConfigFileName), cfg.Dump());
        var json = metadata.ToJson();
        AtomicFile.Write(Path.Combine(directory, MetadataFileName), stream => stream.Write(json));
        return Read(directory);
    }

    /// <summary>Reads the config and metadata of the artifact in <paramref name="directory"/> and finds its weights. The
    /// config is validated for prediction (<see cref="ConfigPurpose.Inference"/>); MODEL.WEIGHTS and OUTPUT_DIR are not used.</summary>
    /// <param name="opts">config overrides applied after config.yaml (e.g. MODEL.DEVICE cpu)</param>
    /// <param name="weightsPath">a weight file to use instead of the folder's own (which may then be absent)</param>
    /// <exception cref="ModelArtifactException">the folder or one of its files is missing or unusable; names the path</exception>
    public static ModelArtifact Read(string directory, IReadOnlyList<string>? opts = null, string? weightsPath = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var fullPath = Path.GetFullPath(directory);
        if (!System.IO.Directory.Exists(fullPath))
            throw new ModelArtifactException(fullPath, File.Exists(fullPath)
                ? "is a file; a model directory (model_final.safetensors, config.yaml, metadata.json) is expected."
                : "the model directory does not exist.");
        var weights = weightsPath is null ? FindWeights(fullPath) : Path.GetFullPath(weightsPath);
        if (!File.Exists(weights))
            throw new ModelArtifactException(weights, "the weight file does not exist.");
        var configPath = Path.Combine(fullPath, ConfigFileName);
        if (!File.Exists(configPath))
            throw new ModelArtifactException(configPath, "the model's config is missing (every artifact holds the resolved config.yaml).");
        var metadataPath = Path.Combine(fullPath, MetadataFileName);
        var cfg = LoadConfig(configPath, opts);
        var numClasses = cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES");
        // Detectron2 writes no metadata.json: its folders name classes by index.
        var metadata = File.Exists(metadataPath)
            ? ModelMetadata.Parse(File.ReadAllBytes(metadataPath), metadataPath)
            : new ModelMetadata(ModelMetadata.IndexNames(numClasses), cfg.Get<string>("INPUT.FORMAT"));
        if (metadata.ClassNames.Count != numClasses)
            throw new ModelArtifactException(metadataPath, $"lists {metadata.ClassNames.Count} class names but config.yaml has MODEL.ROI_HEADS.NUM_CLASSES {numClasses}.");
        return new ModelArtifact(fullPath, weights, cfg, metadata);
    }

    /// <summary>A config file (a Detectron2 dump or this project's) loaded for prediction.</summary>
    /// <exception cref="ModelArtifactException">unreadable, or it turns on a feature that changes predictions and is not supported</exception>
    internal static CfgNode LoadConfig(string configPath, IReadOnlyList<string>? opts = null)
    {
        try
        {
            return ConfigLoader.Load(configPath, opts, purpose: ConfigPurpose.Inference);
        }
        catch (ConfigException e)
        {
            throw new ModelArtifactException(configPath, e.Message, e);
        }
    }

    /// <summary>The weight file of a model folder (see <see cref="WeightsPath"/>).</summary>
    /// <exception cref="ModelArtifactException">none, or several with none preferred</exception>
    internal static string FindWeights(string directory)
    {
        foreach (var extension in WeightExtensions)
        {
            var final = Path.Combine(directory, "model_final" + extension);
            if (File.Exists(final))
                return final;
        }
        var lastCheckpoint = Path.Combine(directory, LastCheckpointFileName);
        if (File.Exists(lastCheckpoint))
        {
            var named = File.ReadAllText(lastCheckpoint).Trim();
            var path = Path.Combine(directory, named);
            if (named.Length > 0 && named.IndexOfAny(['/', '\\']) < 0 && File.Exists(path))
                return path;
        }
        var candidates = System.IO.Directory.GetFiles(directory)
            .Where(f => !Path.GetFileName(f).StartsWith('.') && WeightExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal)
            .ToList();
        return candidates.Count switch
        {
            1 => candidates[0],
            0 => throw new ModelArtifactException(Path.Combine(directory, WeightsFileName),
                "the model weights are missing: no model_final.safetensors, model_final.pth or model_final.pkl (nor any *.safetensors, *.pth, *.pkl) in the model directory."),
            _ => throw new ModelArtifactException(directory,
                $"holds {candidates.Count} weight files ({string.Join(", ", candidates.Select(Path.GetFileName))}) and no model_final.* or {LastCheckpointFileName}; keep one."),
        };
    }
}
