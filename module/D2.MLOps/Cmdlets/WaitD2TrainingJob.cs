using System.Management.Automation;
using D2.MLOps.Help;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;
using D2.Operations.Pipeline;
using D2.SageMaker.Contract;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsLifecycle.Wait, "D2TrainingJob")]
[OutputType(typeof(DescribeTrainingJobResponse))]
[CmdletHelp("Waits until a training job completes or stops.",
    "Polls DescribeTrainingJob and shows the status, secondary status and (on the local SageMaker, from the job's log) the iteration, total_loss and ETA in Write-Progress and -Verbose lines until the job is Completed or Stopped, then returns it; a Failed job is an error carrying FailureReason.\n\nCtrl+C (or -Timeout) stops waiting, never the job: it keeps running, and Get-D2TrainingJob shows it.")]
[HelpExample("Wait-D2TrainingJob -Local -TrainingJobName balloons-20260101-120000",
    "Waits for a job on the local SageMaker and returns it with FinalMetricDataList.")]
[HelpExample("Get-D2TrainingJob -Status InProgress | Wait-D2TrainingJob -Timeout 01:00:00",
    "Waits at most an hour for each running job; a timeout is an OperationTimeout error and the job keeps running.")]
public sealed class WaitD2TrainingJob : AwsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The training job's name.")]
    public string TrainingJobName { get; set; } = "";

    [Parameter(HelpMessage = "Stop waiting after this long (the job keeps running).")]
    public TimeSpan? Timeout { get; set; }

    protected override void ProcessRecord() => WriteObject(WaitFor(this, TrainingJobName, Timeout));

    /// <summary>The wait of Wait-D2TrainingJob and Start-D2Training -Wait: progress on the pipeline, Ctrl+C cancels the wait only.</summary>
    internal static PSObject WaitFor(AwsCmdlet cmdlet, string jobName, TimeSpan? timeout)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cmdlet.StopToken);
        if (timeout is { } after)
        {
            limit.CancelAfter(after);
        }

        // Status from DescribeTrainingJob; iteration, total_loss and ETA from the job's log where this client can read it
        // (the local SageMaker's log file; on AWS the log is in CloudWatch Logs, so only the statuses and metrics show).
        var logPath = cmdlet.Context.IsLocal && LocalSession.Server is { } server ? TrainingFollower.LocalLogPath(server.Root, jobName) : null;
        var progress = cmdlet.Progress<TrainingSnapshot>(ProgressFor);
        var lines = cmdlet.Verbose<TrainingSnapshot>(s => s.ToString());
        try
        {
            var result = cmdlet.Run(token => new TrainingFollower(cmdlet.Context).FollowAsync(jobName, new Immediate(progress, lines), logPath, cmdlet.PollInterval, token),
                jobName, limit.Token);
            return OutputObjects.TrainingJob(result.Description);
        }
        catch (RuntimeException e) when (e.InnerException is OperationCanceledException && !cmdlet.StopToken.IsCancellationRequested)
        {
            var timedOut = new TimeoutException($"Stopped waiting for training job '{jobName}' after {timeout}; the job keeps running.");
            throw new RuntimeException(timedOut.Message, timedOut, cmdlet.ErrorRecordFor(timedOut, jobName));
        }
    }

    /// <summary>Write-Progress of a snapshot: statuses as the status line, the trainer's last metric line as the current
    /// operation, percent from iteration/MAX_ITER and seconds remaining from the trainer's ETA.</summary>
    internal static ProgressRecord ProgressFor(TrainingSnapshot s)
    {
        var current = s.MetricLine();
        if (!string.IsNullOrEmpty(s.StatusMessage))
            current = current.Length == 0 ? s.StatusMessage : current + "  " + s.StatusMessage;
        var record = new ProgressRecord(1, $"Training job {s.JobName}", $"{s.Status} / {s.SecondaryStatus}")
        {
            CurrentOperation = current,
        };
        if (s.Iteration is { } done && s.MaxIter is > 0 and var total)
            record.PercentComplete = (int)Math.Clamp(100L * done / total, 0, 100);
        if (s.Eta is { } eta)
            record.SecondsRemaining = (int)Math.Min(eta.TotalSeconds, int.MaxValue);
        return record;
    }

    /// <summary>Reports to both sinks (the progress bar and the verbose lines), in order, on the caller's thread.</summary>
    private sealed class Immediate(IProgress<TrainingSnapshot> progress, IProgress<TrainingSnapshot> lines) : IProgress<TrainingSnapshot>
    {
        public void Report(TrainingSnapshot value)
        {
            progress.Report(value);
            lines.Report(value);
        }
    }
}
