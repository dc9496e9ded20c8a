using System.Management.Automation;
using D2.MLOps.Help;
using D2.Operations.Steps;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsCommon.Remove, "D2Endpoint", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(EndpointDeletion))]
[CmdletHelp("Deletes an endpoint, its endpoint config and its models.",
    "Deletes the endpoint and waits until it is gone; unless -KeepConfig, also its endpoint config and that config's models. It asks for confirmation (ConfirmImpact High) unless -Force or -Confirm:$false. A missing endpoint is not an error: the result's Existed is false.")]
[HelpExample("Remove-D2Endpoint -Local -EndpointName balloons -Force",
    "Deletes a local endpoint and its config and models without asking.")]
[HelpExample("Get-D2Endpoint balloons | Remove-D2Endpoint -KeepConfig -WhatIf",
    "Shows what would be deleted, keeping the config for a later redeploy; nothing is sent.")]
public sealed class RemoveD2Endpoint : AwsCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, HelpMessage = "The endpoint's name.")]
    public string EndpointName { get; set; } = "";

    [Parameter(HelpMessage = "Keep the endpoint config and its models.")]
    public SwitchParameter KeepConfig { get; set; }

    [Parameter(HelpMessage = "Do not ask for confirmation.")]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        // -Force skips the prompt, as in AWS Tools; -WhatIf still wins.
        var whatIf = MyInvocation.BoundParameters.TryGetValue("WhatIf", out var value) && value is SwitchParameter { IsPresent: true };
        if (!(Force && !whatIf) && !ShouldProcess(EndpointName, KeepConfig ? "DeleteEndpoint" : "DeleteEndpoint, DeleteEndpointConfig, DeleteModel"))
        {
            return;
        }

        var progress = Progress<EndpointProgress>(p => new ProgressRecord(3, $"Endpoint {p.EndpointName}", p.ToString()));
        WriteObject(Run(token => Context.Endpoints.DeleteEndpointAsync(EndpointName, !KeepConfig, progress, PollInterval, cancellationToken: token), EndpointName));
    }
}
