using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>A training job that ended (Completed or Stopped; Failed throws <see cref="TrainingJobFailedException"/>).</summary>
/// <param name="Description">The final DescribeTrainingJob answer.</param>
/// <param name="Metrics">FinalMetricDataList by metric name (the TrainerMetrics names: total_loss, bbox/AP, ...).</param>
public sealed record TrainingResult(DescribeTrainingJobResponse Description, IReadOnlyDictionary<string, double> Metrics)
{
    public string JobName => Description.TrainingJobName;

    public TrainingJobStatus Status => Description.TrainingJobStatus;

    /// <summary>model.tar.gz (s3:// on AWS, file:// locally); null when nothing was uploaded.</summary>
    public string? ModelArtifacts => Description.ModelArtifacts?.S3ModelArtifacts;
}
