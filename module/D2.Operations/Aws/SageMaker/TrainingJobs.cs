namespace D2.Operations.Aws.SageMaker;

// CreateTrainingJob, DescribeTrainingJob, StopTrainingJob, ListTrainingJobs.

public sealed record CreateTrainingJobRequest
{
    public required string TrainingJobName { get; init; }

    public required string RoleArn { get; init; }

    public AlgorithmSpecification? AlgorithmSpecification { get; init; }

    /// <summary>All values are strings, as SageMaker hands them to the container.</summary>
    public IReadOnlyDictionary<string, string>? HyperParameters { get; init; }

    public IReadOnlyList<Channel>? InputDataConfig { get; init; }

    public required OutputDataConfig OutputDataConfig { get; init; }

    public ResourceConfig? ResourceConfig { get; init; }

    public StoppingCondition? StoppingCondition { get; init; }

    public VpcConfig? VpcConfig { get; init; }

    public bool? EnableNetworkIsolation { get; init; }

    public bool? EnableManagedSpotTraining { get; init; }

    public CheckpointConfig? CheckpointConfig { get; init; }

    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    public RetryStrategy? RetryStrategy { get; init; }

    public IReadOnlyList<Tag>? Tags { get; init; }
}

public sealed record CreateTrainingJobResponse(string TrainingJobArn);

public sealed record DescribeTrainingJobRequest(string TrainingJobName);

public sealed record DescribeTrainingJobResponse
{
    public string TrainingJobName { get; init; } = "";

    public string TrainingJobArn { get; init; } = "";

    public TrainingJobStatus TrainingJobStatus { get; init; }

    public SecondaryStatus SecondaryStatus { get; init; }

    public string? FailureReason { get; init; }

    public ModelArtifacts? ModelArtifacts { get; init; }

    public IReadOnlyDictionary<string, string>? HyperParameters { get; init; }

    public AlgorithmSpecification? AlgorithmSpecification { get; init; }

    public string? RoleArn { get; init; }

    public IReadOnlyList<Channel>? InputDataConfig { get; init; }

    public OutputDataConfig? OutputDataConfig { get; init; }

    public ResourceConfig? ResourceConfig { get; init; }

    public StoppingCondition? StoppingCondition { get; init; }

    public DateTimeOffset CreationTime { get; init; }

    public DateTimeOffset? TrainingStartTime { get; init; }

    public DateTimeOffset? TrainingEndTime { get; init; }

    public DateTimeOffset? LastModifiedTime { get; init; }

    public IReadOnlyList<SecondaryStatusTransition>? SecondaryStatusTransitions { get; init; }

    public IReadOnlyList<MetricData>? FinalMetricDataList { get; init; }

    public bool? EnableManagedSpotTraining { get; init; }

    public CheckpointConfig? CheckpointConfig { get; init; }

    public int? TrainingTimeInSeconds { get; init; }

    public int? BillableTimeInSeconds { get; init; }

    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    public RetryStrategy? RetryStrategy { get; init; }
}

public sealed record StopTrainingJobRequest(string TrainingJobName);

public sealed record ListTrainingJobsRequest
{
    public string? NextToken { get; init; }

    public int? MaxResults { get; init; }

    public DateTimeOffset? CreationTimeAfter { get; init; }

    public DateTimeOffset? CreationTimeBefore { get; init; }

    public string? NameContains { get; init; }

    public TrainingJobStatus? StatusEquals { get; init; }

    public ListSortBy? SortBy { get; init; }

    public SortOrder? SortOrder { get; init; }
}

public sealed record ListTrainingJobsResponse
{
    public IReadOnlyList<TrainingJobSummary> TrainingJobSummaries { get; init; } = [];

    public string? NextToken { get; init; }
}

public sealed record TrainingJobSummary
{
    public string TrainingJobName { get; init; } = "";

    public string TrainingJobArn { get; init; } = "";

    public DateTimeOffset CreationTime { get; init; }

    public DateTimeOffset? TrainingEndTime { get; init; }

    public DateTimeOffset? LastModifiedTime { get; init; }

    public TrainingJobStatus TrainingJobStatus { get; init; }

    public SecondaryStatus? SecondaryStatus { get; init; }
}
