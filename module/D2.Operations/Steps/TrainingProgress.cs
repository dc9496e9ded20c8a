using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>One status change of a training job, as reported while waiting.</summary>
/// <param name="JobName">The training job.</param>
/// <param name="Status">Primary status at that transition.</param>
/// <param name="SecondaryStatus">Secondary status (Starting, Downloading, Training, Uploading, ...).</param>
/// <param name="StatusMessage">SageMaker's message for the transition (updated messages are reported again).</param>
/// <param name="Time">When the transition started.</param>
public sealed record TrainingProgress(
    string JobName,
    TrainingJobStatus Status,
    SecondaryStatus SecondaryStatus,
    string? StatusMessage,
    DateTimeOffset Time)
{
    public override string ToString() =>
        $"{JobName}: {Status}/{SecondaryStatus}{(string.IsNullOrEmpty(StatusMessage) ? "" : " - " + StatusMessage)}";
}
