using D2.Detection.Config;
using D2.Detection.Data.Datasets;
using D2.Detection.Distributed;

namespace D2.Trainer.Training;

/// <summary>What one `d2 train` run needs, whether it came from the command line or from a SageMaker job.</summary>
internal sealed record TrainingRequest
{
    /// <summary>The resolved config (OUTPUT_DIR already set to <see cref="OutputDirectory"/>).</summary>
    public required CfgNode Config { get; init; }

    /// <summary>config.yaml, metrics.json, TensorBoard events, inference/ and evaluation.json.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Checkpoints and last_checkpoint (SageMaker: /opt/ml/checkpoints, synced with S3).</summary>
    public required string CheckpointDirectory { get; init; }

    /// <summary>The model artifact (SageMaker: /opt/ml/model, packed into model.tar.gz).</summary>
    public required string ModelDirectory { get; init; }

    /// <summary>Where DATASETS.TRAIN names resolve.</summary>
    public required DatasetCatalog TrainCatalog { get; init; }

    /// <summary>Where DATASETS.TEST names resolve.</summary>
    public required DatasetCatalog TestCatalog { get; init; }

    /// <summary>Where URL weights (detectron2://, https://, s3://) are cached; null: $D2_CACHE, $FVCORE_CACHE or ~/.torch/iopath_cache.</summary>
    public string? WeightsCacheDirectory { get; init; }

    public bool Resume { get; init; }
    public bool EvalOnly { get; init; }

    /// <summary>Cancelled by SIGTERM/SIGINT: the run checkpoints after the current iteration and returns.</summary>
    public CancellationToken Stop { get; init; }

    /// <summary>Show the single-line progress bar (interactive terminals).</summary>
    public bool LiveProgress { get; init; }

    public string? TrainingJobName { get; init; }
    public string? GitRevision { get; init; }
    public TextWriter Log { get; init; } = Console.Out;

    /// <summary>The data-parallel group this process is a rank of (default: alone). Only rank 0 writes and evaluates.</summary>
    public IProcessGroup Group { get; init; } = SingleProcessGroup.Instance;
}

/// <summary>How a run ended.</summary>
internal enum TrainingOutcome
{
    /// <summary>Trained to SOLVER.MAX_ITER (and evaluated when DATASETS.TEST is set), artifact written.</summary>
    Completed,

    /// <summary>--eval-only finished.</summary>
    Evaluated,

    /// <summary>A stop was requested: checkpoint and artifact of the current weights written, no final evaluation.</summary>
    Stopped,
}
