namespace D2.SageMaker.Contract;

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

    /// <summary>
    /// The prefix of the keys SageMaker and its SDKs reserve (<c>sagemaker_program</c>, <c>sagemaker_region</c>, ...):
    /// the trainer ignores them, whatever their name.
    /// </summary>
    public const string ReservedPrefix = "sagemaker_";

    /// <summary>
    /// THE list of the trainer's hyperparameters, each with what it does (the trainer prints it when a key is unknown,
    /// and accepts exactly these names, written with '-' or '_').
    /// </summary>
    public static IReadOnlyDictionary<string, string> Descriptions { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [ConfigFile] = "a model-zoo config name, e.g. COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml",
        [LocalConfigFile] = "a YAML config: relative to a channel (training/configs/x.yaml or configs/x.yaml in any channel), or an absolute path in the image",
        [Opts] = "config overrides as space-separated KEY VALUE pairs, e.g. SOLVER.MAX_ITER 500 MODEL.ROI_HEADS.NUM_CLASSES 1",
        [Resume] = "continue from the last checkpoint in /opt/ml/checkpoints when there is one (default true)",
        [EvalOnly] = "only evaluate MODEL.WEIGHTS (or, with resume, the last checkpoint) on DATASETS.TEST (default false)",
        [Seed] = "SEED: the random seed (default: the config's, -1 = random)",
        [TrainDatasets] = "comma-separated DATASETS.TRAIN names (default: the config's when they exist under the training channel, else the training channel itself)",
        [TestDatasets] = "comma-separated DATASETS.TEST names (default: the config's when they exist under the validation channel, else the validation channel when there is one, else none)",
        [TrainingAnnotations] = "the COCO or VIA json or Ground Truth manifest of the training channel, relative to it (default: the only one found)",
        [ValidationAnnotations] = "the COCO or VIA json or Ground Truth manifest of the validation channel, relative to it (default: the only one found)",
        [ClassName] = "the class name of VIA datasets, which carry none (default balloon)",
        [LabelAttributeName] = "the label attribute of Ground Truth manifests (default: the only attribute holding bounding-box annotations)",
        [NumGpus] = "worker processes per instance, as Detectron2's --num-gpus (default: one per GPU of the instance, one on a CPU instance)",
    };

    /// <summary>Every hyperparameter name, in <see cref="Descriptions"/>' order.</summary>
    public static IReadOnlyList<string> All { get; } = [.. Descriptions.Keys];

    /// <summary>Detectron2 overrides as the <c>opts</c> value: <c>KEY VALUE KEY VALUE</c>.</summary>
    public static string FormatOpts(IEnumerable<KeyValuePair<string, string>> overrides)
    {
        ArgumentNullException.ThrowIfNull(overrides);
        return string.Join(' ', overrides.Select(o => $"{o.Key} {o.Value}"));
    }
}
