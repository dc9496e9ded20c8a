using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>
/// Turns successive DescribeTrainingJob answers into progress reports: each secondary-status transition once, again
/// only when SageMaker rewrites its message (as the SageMaker SDK's wait does), and a primary status change that came
/// without a new transition.
/// </summary>
internal sealed class TrainingProgressTracker(string jobName, TimeProvider time)
{
    private readonly List<(SecondaryStatus Status, string? Message)> _seen = [];
    private TrainingJobStatus? _status;

    public void Observe(DescribeTrainingJobResponse description, IProgress<TrainingProgress>? progress)
    {
        var reported = false;
        var transitions = description.SecondaryStatusTransitions ?? [];
        for (var i = 0; i < transitions.Count; i++)
        {
            var transition = transitions[i];
            var entry = (transition.Status, transition.StatusMessage);
            if (i < _seen.Count && _seen[i] == entry)
            {
                continue;
            }

            if (i < _seen.Count)
            {
                _seen[i] = entry;
            }
            else
            {
                _seen.Add(entry);
            }

            // Earlier transitions get the primary status they imply; the latest one the job's current status.
            var primary = i == transitions.Count - 1 ? description.TrainingJobStatus : PrimaryOf(transition.Status);
            progress?.Report(new TrainingProgress(jobName, primary, transition.Status, transition.StatusMessage, transition.StartTime));
            reported = true;
        }

        if (!reported && description.TrainingJobStatus != _status)
        {
            progress?.Report(new TrainingProgress(jobName, description.TrainingJobStatus, description.SecondaryStatus,
                transitions.Count > 0 ? transitions[^1].StatusMessage : null, time.GetUtcNow()));
        }

        _status = description.TrainingJobStatus;
    }

    private static TrainingJobStatus PrimaryOf(SecondaryStatus status) => status switch
    {
        SecondaryStatus.Completed => TrainingJobStatus.Completed,
        SecondaryStatus.Failed => TrainingJobStatus.Failed,
        SecondaryStatus.Stopping => TrainingJobStatus.Stopping,
        SecondaryStatus.Stopped or SecondaryStatus.MaxRuntimeExceeded or SecondaryStatus.MaxWaitTimeExceeded => TrainingJobStatus.Stopped,
        _ => TrainingJobStatus.InProgress,
    };
}
