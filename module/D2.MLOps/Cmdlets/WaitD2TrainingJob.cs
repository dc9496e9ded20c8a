using System.Management.Automation;
using D2.MLOps.Help;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Operations;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsLifecycle.Wait, "D2TrainingJob")]
[OutputType(typeof(DescribeTrainingJobResponse))]
[CmdletHelp("Waits until a training job completes or stops.",
    "Polls DescribeTrainingJob and shows the status and secondary status in Write-Progress until the job is Completed or Stopped, then returns it; a Failed job is an error carrying FailureReason.\n\nCtrl+C (or -Timeout) stops waiting, never the job: it keeps running, and Get-D2TrainingJob shows it.")]
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

        var progress = cmdlet.Progress<TrainingProgress>(p => new ProgressRecord(1, $"Training job {p.JobName}", $"{p.Status} / {p.SecondaryStatus}")
        {
            CurrentOperation = p.StatusMessage ?? "",
        });
        try
        {
            var result = cmdlet.Run(token => cmdlet.Context.Training.WaitForTrainingAsync(jobName, progress, cmdlet.PollInterval, token), jobName, limit.Token);
            return OutputObjects.TrainingJob(result.Description);
        }
        catch (RuntimeException e) when (e.InnerException is OperationCanceledException && !cmdlet.StopToken.IsCancellationRequested)
        {
            var timedOut = new TimeoutException($"Stopped waiting for training job '{jobName}' after {timeout}; the job keeps running.");
            throw new RuntimeException(timedOut.Message, timedOut, cmdlet.ErrorRecordFor(timedOut, jobName));
        }
    }
}
