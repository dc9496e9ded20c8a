using System.Management.Automation;
using D2.MLOps.Help;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsLifecycle.Stop, "D2TrainingJob", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(D2.Operations.Aws.SageMaker.DescribeTrainingJobResponse))]
[CmdletHelp("Stops a training job.",
    "Sends StopTrainingJob: SageMaker sends the trainer SIGTERM (it saves a checkpoint) and SIGKILL after 120 s; the job reads StopToken, then Stopped. With -PassThru the job is returned as described right after the request.")]
[HelpExample("Stop-D2TrainingJob -Local -TrainingJobName balloons-20260101-120000",
    "Stops one job on the local SageMaker.")]
[HelpExample("Get-D2TrainingJob -Status InProgress | Stop-D2TrainingJob -WhatIf",
    "Shows which running jobs would be stopped, without sending anything.")]
public sealed class StopD2TrainingJob : AwsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The training job's name.")]
    public string TrainingJobName { get; set; } = "";

    [Parameter(HelpMessage = "Return the job after the stop request.")]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (!ShouldProcess(TrainingJobName, "StopTrainingJob"))
        {
            return;
        }

        Run(token => Context.Training.StopTrainingAsync(TrainingJobName, token), TrainingJobName);
        if (PassThru)
        {
            WriteObject(OutputObjects.TrainingJob(Run(token => Context.SageMaker.DescribeTrainingJobAsync(TrainingJobName, token), TrainingJobName)));
        }
    }
}
