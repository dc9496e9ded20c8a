using System.Management.Automation;
using D2.MLOps.Help;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Operations;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsLifecycle.Deploy, "D2Model", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(DescribeEndpointResponse))]
[CmdletHelp("Deploys a trained model to a SageMaker endpoint and waits until it is InService.",
    "Creates a model and an endpoint config, then creates the endpoint or, when it exists, updates it to the new config (blue/green), and waits until it is InService. The model is a training job's ModelArtifacts (a job on the pipeline binds by TrainingJobName) or -ModelDataUrl.\n\nWith -Local the endpoint runs on the local SageMaker (the D2.Serving process); the image defaults to the local serving image.")]
[HelpExample("Start-D2Training -Local -ProfilePath ./local.json -Wait | Deploy-D2Model -Local -EndpointName balloons",
    "Trains on the local SageMaker and deploys the result.")]
[HelpExample("Deploy-D2Model -EndpointName balloons -ModelDataUrl s3://bucket/jobs/job-1/output/model.tar.gz -InstanceType ml.g5.xlarge -Image 123456789012.dkr.ecr.us-east-1.amazonaws.com/d2-serving:1.0-ampere -RoleArn arn:aws:iam::123456789012:role/SageMaker",
    "Deploys a model.tar.gz on AWS.")]
public sealed class DeployD2Model : AwsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, HelpMessage = "The endpoint to create or update.")]
    public string EndpointName { get; set; } = "";

    [Parameter(ValueFromPipelineByPropertyName = true, HelpMessage = "Deploy this training job's model artifacts.")]
    public string? TrainingJobName { get; set; }

    [Parameter(HelpMessage = "Deploy this model.tar.gz (s3://, https://, or file:// with -Local) instead of a job's.")]
    public string? ModelDataUrl { get; set; }

    [Parameter(HelpMessage = "SageMaker instance type of the endpoint, e.g. ml.g5.xlarge (default with -Local: ml.m5.xlarge).")]
    public string? InstanceType { get; set; }

    [Parameter(HelpMessage = "Number of instances.")]
    public int InstanceCount { get; set; } = 1;

    [Parameter(HelpMessage = "The serving image URI (default with -Local: the local serving image).")]
    public string? Image { get; set; }

    [Parameter(HelpMessage = "Execution role of the model (required on AWS).")]
    public string? RoleArn { get; set; }

    [Parameter(HelpMessage = "Delete the endpoint config (and its models) that an update replaced.")]
    public SwitchParameter DeletePrevious { get; set; }

    [Parameter(HelpMessage = "Give up waiting for InService after this long (default 60 minutes).")]
    public TimeSpan? Timeout { get; set; }

    protected override void ProcessRecord()
    {
        var model = TrainingJobName ?? ModelDataUrl ?? "(no model)";
        if (!ShouldProcess(EndpointName, $"Deploy {model} (CreateModel, CreateEndpointConfig, CreateEndpoint or UpdateEndpoint)"))
        {
            return;
        }

        var profile = new DeploymentProfile
        {
            EndpointName = EndpointName,
            TrainingJobName = ModelDataUrl is null ? TrainingJobName : null,
            ModelDataUrl = ModelDataUrl,
            InstanceType = InstanceType ?? (Local ? "ml.m5.xlarge" : ""),
            InstanceCount = InstanceCount,
            Image = Image ?? (Local ? "d2-serving:local-cpu" : null),
            RoleArn = RoleArn,
            DeletePrevious = DeletePrevious,
            Source = "parameters",
        };
        var progress = Progress<EndpointProgress>(p => new ProgressRecord(2, $"Endpoint {p.EndpointName}", p.ToString()));
        var result = Run(token => Context.Endpoints.DeployAsync(profile, progress, PollInterval, Timeout, token), EndpointName);
        WriteObject(OutputObjects.Endpoint(result.Endpoint));
    }
}
