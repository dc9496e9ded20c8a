using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>A training job ended Failed; <see cref="FailureReason"/> is SageMaker's (the trainer's failure file when it wrote one).</summary>
public sealed class TrainingJobFailedException(string jobName, string? failureReason, DescribeTrainingJobResponse description)
    : Exception($"Training job {jobName} failed: {(string.IsNullOrWhiteSpace(failureReason) ? "no reason given" : failureReason)}")
{
    public string JobName { get; } = jobName;

    public string? FailureReason { get; } = failureReason;

    /// <summary>The final DescribeTrainingJob answer (transitions, metrics so far, times).</summary>
    public DescribeTrainingJobResponse Description { get; } = description;
}
