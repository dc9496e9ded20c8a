using System.Management.Automation;
using D2.MLOps.Help;
using D2.Operations.Local;

namespace D2.MLOps.Cmdlets;

[Cmdlet(VerbsLifecycle.Start, "D2LocalSageMaker", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(LocalSageMakerServer))]
[CmdletHelp("Starts the local SageMaker for this PowerShell process.",
    "Starts the local SageMaker (SageMaker, SageMaker Runtime and STS APIs on loopback) in this PowerShell process; after it, -Local on any D2 cmdlet reaches it. Training jobs run -TrainingCommand (default: $env:D2_TRAINING_COMMAND, else 'd2') with the SageMaker /opt/ml contract; endpoints run -ServingCommand (default: $env:D2_SERVING_COMMAND, else 'D2.Serving'). Commands are split on spaces, e.g. 'dotnet /repo/trainer/D2.Trainer/bin/Release/net10.0/d2.dll'.\n\nReturns the server: BaseUrl, Root and RequestCount (requests received so far).")]
[HelpExample("Start-D2LocalSageMaker -TrainingCommand 'dotnet ./trainer/D2.Trainer/bin/Release/net10.0/d2.dll' -ServingCommand 'dotnet ./serving/D2.Serving/bin/Release/net10.0/D2.Serving.dll'",
    "Starts the local SageMaker with the repository's trainer and serving builds.")]
[HelpExample("Start-D2LocalSageMaker -Root ./local-sagemaker -Port 8080; Get-D2TrainingJob -Local",
    "Starts it on a fixed port and folder (state persists there) and lists its jobs.")]
public sealed class StartD2LocalSageMaker : D2Cmdlet
{
    [Parameter(HelpMessage = "Folder for the local SageMaker's state, training jobs and endpoints (default: a folder under the temp directory).")]
    public string? Root { get; set; }

    [Parameter(HelpMessage = "Loopback port (default: any free port).")]
    [ValidateRange(0, 65535)]
    public int Port { get; set; }

    [Parameter(HelpMessage = "The command a training job runs: one string split on spaces, or the program and its arguments as an array (default: $env:D2_TRAINING_COMMAND, else 'd2').")]
    public string[]? TrainingCommand { get; set; }

    [Parameter(HelpMessage = "The command an endpoint runs: one string split on spaces, or an array (default: $env:D2_SERVING_COMMAND, else 'D2.Serving').")]
    public string[]? ServingCommand { get; set; }

    protected override void ProcessRecord()
    {
        if (LocalSession.Server is not null)
        {
            ThrowTerminatingError(new ErrorRecord(new PSInvalidOperationException(
                    $"A local SageMaker already runs in this process at {LocalSession.Server.BaseUrl}; stop it with Stop-D2LocalSageMaker first."),
                "LocalSageMakerRunning", ErrorCategory.ResourceExists, LocalSession.Server.BaseUrl));
        }

        var options = new LocalSageMakerOptions
        {
            Port = Port,
            TrainingCommand = Command(TrainingCommand, "D2_TRAINING_COMMAND", "d2"),
            ServingCommand = Command(ServingCommand, "D2_SERVING_COMMAND", "D2.Serving"),
        };
        if (Root is not null)
        {
            options.Root = GetUnresolvedProviderPathFromPSPath(Root);
        }

        if (!ShouldProcess(options.Root, "Start the local SageMaker"))
        {
            return;
        }

        var server = Run(token => LocalSageMakerServer.StartAsync(options, token), options.Root);
        LocalSession.Set(server);
        WriteObject(server);
    }

    private static string[] Command(string[]? given, string variable, string fallback) =>
        given is { Length: > 1 } ? given
        : (given?.FirstOrDefault() ?? Environment.GetEnvironmentVariable(variable) ?? fallback)
            .Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
