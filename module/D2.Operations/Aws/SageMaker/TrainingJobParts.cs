namespace D2.Operations.Aws.SageMaker;

// Structures of CreateTrainingJob / DescribeTrainingJob (member names are the model's).

public sealed record AlgorithmSpecification
{
    public string? TrainingImage { get; init; }

    public TrainingInputMode TrainingInputMode { get; init; } = TrainingInputMode.File;

    /// <summary>Regexes SageMaker applies to the container's log to publish metrics.</summary>
    public IReadOnlyList<MetricDefinition>? MetricDefinitions { get; init; }

    public bool? EnableSageMakerMetricsTimeSeries { get; init; }

    public IReadOnlyList<string>? ContainerEntrypoint { get; init; }

    public IReadOnlyList<string>? ContainerArguments { get; init; }
}

// MetricDefinition is the container contract's (D2.SageMaker.Contract), shared with the trainer's log lines.

/// <summary>An input channel, mounted at /opt/ml/input/data/{ChannelName}.</summary>
public sealed record Channel
{
    public required string ChannelName { get; init; }

    public required DataSource DataSource { get; init; }

    public string? ContentType { get; init; }

    public CompressionType? CompressionType { get; init; }

    public TrainingInputMode? InputMode { get; init; }
}

/// <summary>Exactly one of the sources: an S3 location copied (File) or streamed, or a file system mounted (EFS, FSx for Lustre).</summary>
public sealed record DataSource
{
    public S3DataSource? S3DataSource { get; init; }

    public FileSystemDataSource? FileSystemDataSource { get; init; }
}

/// <summary>
/// An EFS or FSx for Lustre directory mounted as the channel (no copy before training); the job needs a
/// <see cref="VpcConfig"/> that reaches the file system. All four members are required by the service model.
/// </summary>
public sealed record FileSystemDataSource
{
    /// <summary>fs-0123456789abcdef0 (the model's pattern <c>fs-[0-9a-f]{8,}</c>, 11–21 characters).</summary>
    public required string FileSystemId { get; init; }

    public required FileSystemAccessMode FileSystemAccessMode { get; init; }

    public required FileSystemType FileSystemType { get; init; }

    /// <summary>The full path in the file system; for FSx for Lustre it starts with the mount name (<c>/abcdefgh/coco</c>).</summary>
    public required string DirectoryPath { get; init; }
}

public sealed record S3DataSource
{
    public S3DataType S3DataType { get; init; } = S3DataType.S3Prefix;

    public required string S3Uri { get; init; }

    public S3DataDistribution? S3DataDistributionType { get; init; }
}

/// <summary>Where SageMaker writes model.tar.gz ({S3OutputPath}/{job}/output/model.tar.gz).</summary>
public sealed record OutputDataConfig
{
    public required string S3OutputPath { get; init; }

    public string? KmsKeyId { get; init; }
}

public sealed record ResourceConfig
{
    /// <summary>e.g. ml.g5.xlarge (a string: AWS adds instance types often).</summary>
    public string? InstanceType { get; init; }

    public int? InstanceCount { get; init; }

    public int? VolumeSizeInGB { get; init; }

    public string? VolumeKmsKeyId { get; init; }

    /// <summary>Warm pool: keep instances this long after the job.</summary>
    public int? KeepAlivePeriodInSeconds { get; init; }
}

public sealed record StoppingCondition
{
    public int? MaxRuntimeInSeconds { get; init; }

    /// <summary>Managed spot: total time including waiting for spot capacity (≥ MaxRuntimeInSeconds).</summary>
    public int? MaxWaitTimeInSeconds { get; init; }

    public int? MaxPendingTimeInSeconds { get; init; }
}

/// <summary>Checkpoints synced between LocalPath (default /opt/ml/checkpoints) and S3Uri; resumes spot jobs.</summary>
public sealed record CheckpointConfig
{
    public required string S3Uri { get; init; }

    public string? LocalPath { get; init; }
}

public sealed record RetryStrategy(int MaximumRetryAttempts);

public sealed record VpcConfig(IReadOnlyList<string> SecurityGroupIds, IReadOnlyList<string> Subnets);

public sealed record Tag(string Key, string Value);

public sealed record SecondaryStatusTransition
{
    public SecondaryStatus Status { get; init; }

    public DateTimeOffset StartTime { get; init; }

    public DateTimeOffset? EndTime { get; init; }

    public string? StatusMessage { get; init; }
}

public sealed record ModelArtifacts(string S3ModelArtifacts);

public sealed record MetricData
{
    public string? MetricName { get; init; }

    public float? Value { get; init; }

    public DateTimeOffset? Timestamp { get; init; }
}
