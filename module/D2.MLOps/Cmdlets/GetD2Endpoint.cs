using System.Management.Automation;
using D2.MLOps.Help;
using D2.Operations.Aws.SageMaker;
using D2.SageMaker.Contract;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsCommon.Get, "D2Endpoint")]
[OutputType(typeof(DescribeEndpointResponse))]
[CmdletHelp("Gets a SageMaker endpoint.",
    "Returns DescribeEndpoint's answer (EndpointName, EndpointStatus, EndpointConfigName, ProductionVariants, FailureReason, ...) plus Image and InstanceCount. A missing endpoint is an ObjectNotFound error.")]
[HelpExample("Get-D2Endpoint -Local -EndpointName balloons",
    "Describes an endpoint on the local SageMaker.")]
[HelpExample("Get-D2Endpoint balloons -Region us-east-1 -ProfileName prod | Select-Object EndpointStatus, FailureReason",
    "Shows an AWS endpoint's status with the credentials of the 'prod' profile.")]
public sealed class GetD2Endpoint : AwsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The endpoint's name.")]
    public string EndpointName { get; set; } = "";

    protected override void ProcessRecord() =>
        WriteObject(OutputObjects.Endpoint(Run(token => Context.SageMaker.DescribeEndpointAsync(EndpointName, token), EndpointName)));
}
