using System.Management.Automation;
using D2.MLOps.Help;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsLifecycle.Stop, "D2LocalSageMaker", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[CmdletHelp("Stops the local SageMaker of this PowerShell process.",
    "Stops the server started by Start-D2LocalSageMaker: running training jobs get SIGTERM and end Stopped, serving processes stop. Endpoint records stay in its root, so a later Start-D2LocalSageMaker on the same -Root redeploys them. Nothing running is not an error.")]
[HelpExample("Stop-D2LocalSageMaker", "Stops the local SageMaker.")]
[HelpExample("Stop-D2LocalSageMaker -WhatIf", "Shows what would be stopped.")]
public sealed class StopD2LocalSageMaker : D2Cmdlet
{
    protected override void ProcessRecord()
    {
        if (LocalSession.Server is not { } server || !ShouldProcess(server.BaseUrl.ToString(), "Stop the local SageMaker"))
        {
            return;
        }

        Run(token => server.StopAsync(token), server.BaseUrl);
        LocalSession.Set(null);
    }
}
