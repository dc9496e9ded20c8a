namespace D2.SageMaker.Contract;

/// <summary>
/// The environment variables of SageMaker's containers that this project reads or sets. The training ones are those
/// of SageMaker's training toolkit (which the trainer honours so that the tests and the local SageMaker can move
/// /opt/ml); the hosting ones are what SageMaker passes to a serving container (CreateModel, CreateTransformJob).
/// </summary>
public static class SageMakerEnvironment
{
    // ---- Both containers ----

    /// <summary>Where the /opt/ml tree is (the training toolkit's variable; the server honours it too).</summary>
    public const string BaseDirectory = "SAGEMAKER_BASE_DIR";

    /// <summary>The model folder (/opt/ml/model) moved on its own.</summary>
    public const string ModelDirectory = "SM_MODEL_DIR";

    /// <summary>The region (set by SageMaker in every container).</summary>
    public const string AwsRegion = "AWS_REGION";

    // ---- Training ----

    /// <summary>The output data folder (/opt/ml/output/data) moved on its own.</summary>
    public const string OutputDataDirectory = "SM_OUTPUT_DATA_DIR";

    /// <summary>Prefix of the per-channel folder variables: <c>SM_CHANNEL_TRAINING</c> moves /opt/ml/input/data/training.</summary>
    public const string ChannelPrefix = "SM_CHANNEL_";

    /// <summary>The training job's name and ARN, set by SageMaker in the training container.</summary>
    public const string TrainingJobName = "TRAINING_JOB_NAME";

    public const string TrainingJobArn = "TRAINING_JOB_ARN";

    // ---- Hosting ----

    /// <summary>The port to listen on (the image declares <c>com.amazonaws.sagemaker.capabilities.accept-bind-to-port=true</c>); 8080 when unset.</summary>
    public const string BindToPort = "SAGEMAKER_BIND_TO_PORT";

    /// <summary>Worker count of the model server.</summary>
    public const string ModelServerWorkers = "SAGEMAKER_MODEL_SERVER_WORKERS";

    /// <summary>The response type when a request has no Accept header.</summary>
    public const string DefaultInvocationsAccept = "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT";

    /// <summary>Batch transform's MaxPayloadInMB.</summary>
    public const string MaxPayloadInMB = "SAGEMAKER_MAX_PAYLOAD_IN_MB";

    /// <summary>Batch transform's BatchStrategy (SINGLE_RECORD or MULTI_RECORD).</summary>
    public const string BatchStrategy = "SAGEMAKER_BATCH_STRATEGY";

    /// <summary>Batch transform's MaxConcurrentTransforms.</summary>
    public const string MaxConcurrentTransforms = "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS";

    /// <summary>The region, as SageMaker also names it for hosting containers.</summary>
    public const string Region = "SAGEMAKER_REGION";

    /// <summary>The variable that moves one input channel's folder (File mode).</summary>
    public static string Channel(string channelName)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelName);
        return ChannelPrefix + channelName.ToUpperInvariant();
    }
}
