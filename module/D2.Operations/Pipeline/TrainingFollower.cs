using System.Globalization;
using System.Text;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;

namespace D2.Operations.Pipeline;

/// <summary>
/// Follows a training job to its end and reports <see cref="TrainingSnapshot"/>s for a live display. Two sources feed it:
/// DescribeTrainingJob (status, secondary-status transitions and, on AWS, FinalMetricDataList's total_loss, which SageMaker
/// fills from the metric definitions while the job runs) and, when there is one, the job's log file (the local SageMaker
/// writes <c>{root}/training-jobs/{job}/logs/algo-1.log</c>), whose CommonMetricPrinter lines give the iteration, total
/// loss and ETA. On AWS the job's log is in CloudWatch Logs, which this client does not call, so the iteration and ETA
/// are only known locally.
/// </summary>
public sealed class TrainingFollower(OperationsContext context)
{
    private readonly object _gate = new();
    private TrainingSnapshot? _current;
    private TrainingSnapshot? _reported;

    /// <summary>The local SageMaker's log of a training job under its root.</summary>
    public static string LocalLogPath(string localRoot, string jobName) =>
        Path.Combine(localRoot, "training-jobs", jobName, "logs", "algo-1.log");

    /// <summary>SOLVER.MAX_ITER from the job's <c>opts</c> hyperparameter (null when the config's default applies).</summary>
    public static int? MaxIterFromOpts(IReadOnlyDictionary<string, string>? hyperParameters)
    {
        if (hyperParameters is null || !hyperParameters.TryGetValue(TrainerHyperParameters.Opts, out var opts))
            return null;
        var words = opts.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var i = words.Length - 2; i >= 0; i--)
            if (words[i] == "SOLVER.MAX_ITER" && int.TryParse(words[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var max))
                return max;
        return null;
    }

    /// <summary>Polls until the job ends; returns for Completed and Stopped.</summary>
    /// <exception cref="TrainingJobFailedException">The job failed (SageMaker's FailureReason in the message).</exception>
    public async Task<TrainingResult> FollowAsync(
        string jobName,
        IProgress<TrainingSnapshot> progress,
        string? logPath = null,
        TimeSpan? pollInterval = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(jobName);
        ArgumentNullException.ThrowIfNull(progress);
        var interval = pollInterval ?? TrainingOperations.DefaultPollInterval;
        var tracker = new TrainingProgressTracker(jobName, context.TimeProvider);
        var transitions = new Progress(this, progress);
        long logOffset = 0;
        var partial = new StringBuilder();
        while (true)
        {
            var description = await context.SageMaker.DescribeTrainingJobAsync(jobName, cancellationToken).ConfigureAwait(false);
            var maxIter = MaxIterFromOpts(description.HyperParameters);
            lock (_gate)
                _current ??= Empty(jobName, description) with { MaxIter = maxIter };
            tracker.Observe(description, transitions);
            Update(progress, s => s! with { MaxIter = maxIter ?? s.MaxIter });
            if (logPath is not null)
                logOffset = ReadLog(logPath, logOffset, partial, progress);
            else if (TrainingOperations.FinalMetrics(description).TryGetValue("total_loss", out var loss))
                Update(progress, s => s! with { TotalLoss = loss });
            switch (description.TrainingJobStatus)
            {
                case TrainingJobStatus.Completed or TrainingJobStatus.Stopped:
                    return new TrainingResult(description, TrainingOperations.FinalMetrics(description));
                case TrainingJobStatus.Failed:
                    throw new TrainingJobFailedException(jobName, description.FailureReason, description);
            }

            await Task.Delay(interval, context.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private static TrainingSnapshot Empty(string jobName, DescribeTrainingJobResponse description) =>
        new(jobName, description.TrainingJobStatus, description.SecondaryStatus, null, null, null, null, null);

    /// <summary>Reads the log from <paramref name="offset"/> on; a line still being written waits for its newline.</summary>
    private long ReadLog(string path, long offset, StringBuilder partial, IProgress<TrainingSnapshot> progress)
    {
        if (!File.Exists(path))
            return offset;
        string text;
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            if (stream.Length <= offset)
                return offset;
            stream.Seek(offset, SeekOrigin.Begin);
            var buffer = new byte[stream.Length - offset];
            var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            offset += read;
            text = Encoding.UTF8.GetString(buffer, 0, read);
        }

        partial.Append(text);
        var all = partial.ToString();
        var end = all.LastIndexOf('\n');
        if (end < 0)
            return offset;
        partial.Clear().Append(all[(end + 1)..]);
        foreach (var line in all[..end].Split('\n'))
            if (TrainerLogLine.TryParse(line, out var parsed))
                Update(progress, s => s! with { Iteration = parsed.Completed, TotalLoss = parsed.TotalLoss ?? s.TotalLoss, Eta = parsed.Eta ?? s.Eta });
        return offset;
    }

    private void Update(IProgress<TrainingSnapshot> progress, Func<TrainingSnapshot?, TrainingSnapshot> change)
    {
        TrainingSnapshot? report = null;
        lock (_gate)
        {
            _current = change(_current);
            if (_current != _reported)
                report = _reported = _current;
        }
        if (report is not null)
            progress.Report(report);
    }

    /// <summary>Status transitions from <see cref="TrainingProgressTracker"/>, folded into the snapshot.</summary>
    private sealed class Progress(TrainingFollower follower, IProgress<TrainingSnapshot> progress) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => follower.Update(progress, s => s! with
        {
            Status = value.Status, SecondaryStatus = value.SecondaryStatus, StatusMessage = value.StatusMessage,
        });
    }
}
