using System.Management.Automation;
using D2.MLOps.Help;
using D2.Operations.Steps;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsLifecycle.Start, "D2Training", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(D2.Operations.Aws.SageMaker.DescribeTrainingJobResponse))]
[CmdletHelp("Starts a SageMaker training job of the D2 trainer.",
    "Creates a training job (CreateTrainingJob) from a training profile (-ProfilePath, the JSON the build and workflows use) and/or parameters; parameters override the profile. The request is validated against the SageMaker service model before it is sent, and errors name the parameter.\n\nWith -Local the job runs on the local SageMaker of this PowerShell process (Start-D2LocalSageMaker): a placeholder role and image are used when none is given, and local paths become file:// URIs. With -Wait the command waits like Wait-D2TrainingJob and returns the finished job.")]
[HelpExample("Start-D2Training -Local -ConfigFile Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml -Opts 'SOLVER.MAX_ITER 20' -TrainingData ./balloon/train -ValidationData ./balloon/val -Wait",
    "Trains the small CPU config for 20 iterations on the local SageMaker and returns the completed job with its FinalMetricDataList.")]
[HelpExample("Start-D2Training -ProfilePath ./training-profile.json -InstanceType ml.g5.xlarge -Spot -Region us-east-1",
    "Starts the profile's job on AWS with another instance type and managed spot training.")]
[HelpExample("Start-D2Training -ProfilePath ./training-profile.json -Opts 'MODEL.WEIGHTS','','SOLVER.MAX_ITER','20' -WhatIf",
    "Shows what would start (no request is sent); -Opts given as KEY, VALUE items.")]
public sealed class StartD2Training : AwsCmdlet
{
    [Parameter(HelpMessage = "A training profile JSON file (jobNamePrefix, roleArn, instanceType, hyperParameters, channels, outputPath, ...).")]
    public string? ProfilePath { get; set; }

    [Parameter(HelpMessage = "Model-zoo config of the trainer (config-file hyperparameter), e.g. COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml.")]
    public string? ConfigFile { get; set; }

    [Parameter(HelpMessage = "A config file inside the training channel (local-config-file hyperparameter).")]
    public string? LocalConfigFile { get; set; }

    [Parameter(HelpMessage = "Config overrides: the opts string ('SOLVER.MAX_ITER 20') or KEY, VALUE items.")]
    public string[]? Opts { get; set; }

    [Parameter(HelpMessage = "SageMaker instance type, e.g. ml.g5.xlarge (also picks the image architecture).")]
    public string? InstanceType { get; set; }

    [Parameter(HelpMessage = "Number of instances.")]
    public int? InstanceCount { get; set; }

    [Parameter(HelpMessage = "The training channel: an s3:// URI (or, with -Local, a folder or file:// URI).")]
    public string? TrainingData { get; set; }

    [Parameter(HelpMessage = "The validation channel: an s3:// URI (or, with -Local, a folder or file:// URI).")]
    public string? ValidationData { get; set; }

    [Parameter(HelpMessage = "Where SageMaker writes model.tar.gz and output.tar.gz (s3://, or a folder with -Local).")]
    public string? OutputPath { get; set; }

    [Parameter(HelpMessage = "The execution role SageMaker assumes. With -Local a placeholder is used when none is given.")]
    public string? RoleArn { get; set; }

    [Parameter(HelpMessage = "Use managed spot training (needs -CheckpointUri so an interrupted job resumes).")]
    public SwitchParameter Spot { get; set; }

    [Parameter(HelpMessage = "StopToken condition: the longest the job may run.")]
    public TimeSpan? MaxRuntime { get; set; }

    [Parameter(HelpMessage = "Where checkpoints are synced (s3://, or a folder with -Local).")]
    public string? CheckpointUri { get; set; }

    [Parameter(HelpMessage = "Job name prefix; a timestamp is appended (SageMaker names must be unique).")]
    public string? JobName { get; set; }

    [Parameter(HelpMessage = "An explicit training image URI instead of the profile's registry/repository:version-arch.")]
    public string? Image { get; set; }

    [Parameter(HelpMessage = "Wait until the job completes or stops, as Wait-D2TrainingJob does.")]
    public SwitchParameter Wait { get; set; }

    protected override void ProcessRecord()
    {
        var profile = new TrainingProfileOverrides
        {
            ConfigFile = ConfigFile, LocalConfigFile = LocalConfigFile, Opts = Opts, InstanceType = InstanceType, InstanceCount = InstanceCount,
            TrainingData = TrainingData, ValidationData = ValidationData, OutputPath = OutputPath, RoleArn = RoleArn,
            Spot = MyInvocation.BoundParameters.ContainsKey(nameof(Spot)) ? Spot.IsPresent : null, MaxRuntime = MaxRuntime,
            CheckpointUri = CheckpointUri, JobName = JobName, Image = Image,
        };
        var request = Run(token => Context.Training.BuildRequestAsync(
            profile.Apply(ProfilePath is null ? null : TrainingProfile.Load(GetUnresolvedProviderPathFromPSPath(ProfilePath)), Local), token), ProfilePath);
        if (!ShouldProcess(request.TrainingJobName, $"CreateTrainingJob ({request.ResourceConfig?.InstanceCount} x {request.ResourceConfig?.InstanceType})"))
        {
            return;
        }

        var started = Run(token => Context.StartTrainingAsync(request, token), request.TrainingJobName);
        WriteObject(Wait ? WaitD2TrainingJob.WaitFor(this, started.JobName, null)
            : OutputObjects.TrainingJob(Run(token => Context.SageMaker.DescribeTrainingJobAsync(started.JobName, token), started.JobName)));
    }
}
