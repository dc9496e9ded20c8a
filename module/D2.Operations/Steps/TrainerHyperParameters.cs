namespace D2.Operations.Steps;

/// <summary>
/// The trainer image's hyperparameters (README, "The trainer image and SageMaker's training contract"); all values are
/// strings, and the trainer refuses unknown names, so profiles should use these.
/// </summary>
public static class TrainerHyperParameters
{
    /// <summary>A model-zoo config, e.g. COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml.</summary>
    public const string ConfigFile = "config-file";

    /// <summary>A YAML relative to a channel, /opt/ml/code, or absolute in the image.</summary>
    public const string LocalConfigFile = "local-config-file";

    /// <summary>Detectron2 overrides: space-separated KEY VALUE pairs.</summary>
    public const string Opts = "opts";

    public const string Resume = "resume";

    public const string EvalOnly = "eval-only";

    public const string Seed = "seed";

    public const string TrainDatasets = "train-datasets";

    public const string TestDatasets = "test-datasets";

    public const string TrainingAnnotations = "training-annotations";

    public const string ValidationAnnotations = "validation-annotations";

    public const string ClassName = "class-name";

    /// <summary>The label attribute of Ground Truth manifests (the labeling job's LabelAttributeName).</summary>
    public const string LabelAttributeName = "label-attribute-name";

    /// <summary>Detectron2's --num-gpus: worker processes per instance (default: one per GPU, one on a CPU instance).</summary>
    public const string NumGpus = "num-gpus";

    /// <summary>The channel the training data is mounted from (/opt/ml/input/data/training).</summary>
    public const string TrainingChannel = "training";

    /// <summary>The channel the evaluation data is mounted from.</summary>
    public const string ValidationChannel = "validation";

    /// <summary>Every name above that is a hyperparameter.</summary>
    public static IReadOnlyList<string> All { get; } =
        [ConfigFile, LocalConfigFile, Opts, Resume, EvalOnly, Seed, TrainDatasets, TestDatasets, TrainingAnnotations, ValidationAnnotations, ClassName, LabelAttributeName, NumGpus];

    /// <summary>Detectron2 overrides as the <c>opts</c> value: <c>KEY VALUE KEY VALUE</c>.</summary>
    public static string FormatOpts(IEnumerable<KeyValuePair<string, string>> overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        return string.Join(' ', overrides.Select(o => $"{o.Key} {o.Value}"));
    }
}
