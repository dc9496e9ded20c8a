using System.Management.Automation;
using D2.MLOps.Help;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsLifecycle.Deploy, "D2Model", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(DescribeEndpointResponse))]
[CmdletHelp("Deploys a trained model to a SageMaker endpoint and waits until it is InService.",
    "Creates a model and an endpoint config, then creates the endpoint or, when it exists, updates it to the new config (blue/green), and waits until it is InService. The model is a training job's ModelArtifacts (a job on the pipeline binds by TrainingJobName) or -ModelDataUrl. Role, image and instances come from a deployment profile (-ProfilePath, the JSON the Deploy build target reads) and/or parameters; parameters override the profile, and the request is validated before anything is sent.\n\nWith -Local the endpoint runs on the local SageMaker (the D2.Serving process); the image defaults to the local serving image.")]
[HelpExample("Start-D2Training -Local -ProfilePath ./local.json -Wait | Deploy-D2Model -Local -EndpointName balloons",
    "Trains on the local SageMaker and deploys the result.")]
[HelpExample("Deploy-D2Model -ProfilePath ./deployment-profile.json -TrainingJobName balloons-20260101-120000 -InstanceType ml.g5.2xlarge",
    "Deploys a job's model with the profile's role, image and environment on another instance type.")]
[HelpExample("Deploy-D2Model -EndpointName balloons -ModelDataUrl s3://bucket/jobs/job-1/output/model.tar.gz -InstanceType ml.g5.xlarge -Image 123456789012.dkr.ecr.us-east-1.amazonaws.com/d2-serving:1.0-ampere -RoleArn arn:aws:iam::123456789012:role/SageMaker",
    "Deploys a model.tar.gz on AWS.")]
public sealed class DeployD2Model : AwsCmdlet
{
    [Parameter(Position = 0, HelpMessage = "The endpoint to create or update (required unless the profile names one; with -Local the default is d2-local).")]
    public string? EndpointName { get; set; }

    [Parameter(HelpMessage = "A deployment profile JSON file (endpointName, roleArn, instanceType, image or registry/repository/version, environment, ...), the file the Deploy build target reads; parameters override it.")]
    public string? ProfilePath { get; set; }

    [Parameter(ValueFromPipelineByPropertyName = true, HelpMessage = "Deploy this training job's model artifacts.")]
    public string? TrainingJobName { get; set; }

    [Parameter(HelpMessage = "Deploy this model.tar.gz (s3://, https://, or file:// with -Local) instead of a job's.")]
    public string? ModelDataUrl { get; set; }

    [Parameter(HelpMessage = "SageMaker instance type of the endpoint, e.g. ml.g5.xlarge (default with -Local: ml.m5.xlarge).")]
    public string? InstanceType { get; set; }

    [Parameter(HelpMessage = "Number of instances (default 1).")]
    public int? InstanceCount { get; set; }

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
        var profile = Run(_ => Task.FromResult(new DeploymentProfileOverrides
        {
            EndpointName = EndpointName, TrainingJobName = ModelDataUrl is null ? TrainingJobName : null, ModelDataUrl = ModelDataUrl,
            InstanceType = InstanceType, InstanceCount = InstanceCount, Image = Image, RoleArn = RoleArn,
            DeletePrevious = MyInvocation.BoundParameters.ContainsKey(nameof(DeletePrevious)) ? DeletePrevious.IsPresent : null,
        }.Apply(ProfilePath is null ? null : DeploymentProfile.Load(GetUnresolvedProviderPathFromPSPath(ProfilePath)), Local)), ProfilePath ?? EndpointName);
        var model = profile.TrainingJobName ?? profile.ModelDataUrl;
        if (!ShouldProcess(profile.EndpointName, $"Deploy {model} on {profile.InstanceCount} x {profile.InstanceType} (CreateModel, CreateEndpointConfig, CreateEndpoint or UpdateEndpoint)"))
        {
            return;
        }

        var progress = Progress<EndpointProgress>(p => new ProgressRecord(2, $"Endpoint {p.EndpointName}", p.ToString()));
        var result = Run(token => Context.Endpoints.DeployAsync(profile, progress, PollInterval, Timeout, token), profile.EndpointName);
        WriteObject(OutputObjects.Endpoint(result.Endpoint));
    }
}
