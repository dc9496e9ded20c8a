using System.Management.Automation;
using D2.MLOps.Help;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;
using D2.SageMaker.Contract;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsCommon.Get, "D2TrainingJob", DefaultParameterSetName = "List")]
[OutputType(typeof(DescribeTrainingJobResponse), typeof(TrainingJobSummary))]
[CmdletHelp("Gets one training job, or lists training jobs.",
    "With -TrainingJobName, returns DescribeTrainingJob's answer (AWS member names, plus InstanceType, Elapsed, Metrics and LastAP). Without it, lists training jobs newest first (ListTrainingJobs, all pages), filtered by -Status and -NameContains and cut at -MaxResults.")]
[HelpExample("Get-D2TrainingJob -Local -TrainingJobName balloons-20260101-120000 | Select-Object TrainingJobStatus, FinalMetricDataList",
    "Describes one job on the local SageMaker.")]
[HelpExample("Get-D2TrainingJob -Status InProgress -NameContains balloons -MaxResults 10 -Region eu-west-1",
    "Lists up to ten running jobs whose name contains 'balloons'.")]
public sealed class GetD2TrainingJob : AwsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = "One", ValueFromPipelineByPropertyName = true, HelpMessage = "The training job's name.")]
    public string TrainingJobName { get; set; } = "";

    [Parameter(ParameterSetName = "List", HelpMessage = "Only jobs with this status (InProgress, Completed, Failed, StopToken, Stopped).")]
    public TrainingJobStatus? Status { get; set; }

    [Parameter(ParameterSetName = "List", HelpMessage = "Only jobs whose name contains this text.")]
    public string? NameContains { get; set; }

    [Parameter(ParameterSetName = "List", HelpMessage = "At most this many jobs (all pages are read until then).")]
    [ValidateRange(1, int.MaxValue)]
    public int? MaxResults { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == "One")
        {
            WriteObject(OutputObjects.TrainingJob(Run(token => Context.SageMaker.DescribeTrainingJobAsync(TrainingJobName, token), TrainingJobName)));
            return;
        }

        WriteObject(Run(async token =>
        {
            var jobs = new List<TrainingJobSummary>();
            await foreach (var job in Context.ListTrainingJobsAsync(Status, NameContains, MaxResults, token).ConfigureAwait(false))
            {
                jobs.Add(job);
            }

            return jobs;
        }, null), enumerateCollection: true);
    }
}
