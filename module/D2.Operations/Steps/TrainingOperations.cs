using System.Globalization;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Matrix;

namespace D2.Operations.Steps;

/// <summary>Start, wait for and stop training jobs (the one implementation behind build targets, cmdlets and workflows).</summary>
public sealed class TrainingOperations(OperationsContext context)
{
    /// <summary>How often a wait polls DescribeTrainingJob when the caller does not say (status changes are minutes apart).</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(30);

    /// <summary>The request <see cref="StartTrainingAsync"/> would send: the profile validated, the image resolved.</summary>
    /// <exception cref="InvalidProfileException">A field is wrong (named in the message).</exception>
    public async Task<CreateTrainingJobRequest> BuildRequestAsync(TrainingProfile profile, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        profile.Validate();
        TrainingDistributionCheck.Check(profile, context.Matrix);
        var image = await context.ResolveImageAsync(profile, InstanceTypeUse.Training, cancellationToken).ConfigureAwait(false);
        return TrainingJobRequests.Build(profile, image, context.TimeProvider.GetUtcNow());
    }

    /// <summary>Creates the training job (CreateTrainingJob) and returns at once; see <see cref="WaitForTrainingAsync"/>.</summary>
    public async Task<StartedTrainingJob> StartTrainingAsync(TrainingProfile profile, CancellationToken cancellationToken = default)
    {
        var request = await BuildRequestAsync(profile, cancellationToken).ConfigureAwait(false);
        var created = await context.SageMaker.CreateTrainingJobAsync(request, cancellationToken).ConfigureAwait(false);
        return new StartedTrainingJob(request.TrainingJobName, created.TrainingJobArn, request);
    }

    /// <summary>
    /// Polls the job until it ends (TrainingJobCompletedOrStopped waiter), reporting each status transition once.
    /// Returns for Completed and Stopped (check <see cref="TrainingResult.Status"/>); cancel the token to stop waiting
    /// (the job keeps running).
    /// </summary>
    /// <exception cref="TrainingJobFailedException">The job failed; carries SageMaker's FailureReason.</exception>
    public async Task<TrainingResult> WaitForTrainingAsync(
        string jobName,
        IProgress<TrainingProgress>? progress = null,
        TimeSpan? pollInterval = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        var interval = pollInterval ?? DefaultPollInterval;
        var tracker = new TrainingProgressTracker(jobName, context.TimeProvider);
        while (true)
        {
            var description = await context.SageMaker.DescribeTrainingJobAsync(jobName, cancellationToken).ConfigureAwait(false);
            tracker.Observe(description, progress);
            switch (description.TrainingJobStatus)
            {
                case TrainingJobStatus.Completed or TrainingJobStatus.Stopped:
                    return new TrainingResult(description, FinalMetrics(description));
                case TrainingJobStatus.Failed:
                    throw new TrainingJobFailedException(jobName, description.FailureReason, description);
            }

            await Task.Delay(interval, context.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Asks SageMaker to stop the job (SIGTERM, then SIGKILL after 120 s); wait for it to read Stopped.</summary>
    public Task StopTrainingAsync(string jobName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        return context.SageMaker.StopTrainingJobAsync(jobName, cancellationToken);
    }

    /// <summary>FinalMetricDataList as name → value (the last value SageMaker saw for each metric).</summary>
    public static IReadOnlyDictionary<string, double> FinalMetrics(DescribeTrainingJobResponse description)
    {
        ArgumentNullException.ThrowIfNull(description);
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var metric in description.FinalMetricDataList ?? [])
        {
            if (metric.MetricName is { } name && metric.Value is { } value)
            {
                // The model's Float is single precision: go through its shortest text so 0.01 reads 0.01, not 0.0099999998.
                metrics[name] = double.Parse(value.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            }
        }

        return metrics;
    }
}
