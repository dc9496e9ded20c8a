using System.CommandLine;
using System.Runtime.InteropServices;
using D2.Operations.Local;

namespace D2.LocalSageMaker;

/// <summary>
/// `d2-local-sagemaker`: the local SageMaker in the foreground. Training jobs run the trainer `d2` as their container
/// (`d2 train` per the training contract; <see cref="TrainerLocator"/> says which `d2` unless --training-command does);
/// endpoints run --serving-command (default: D2.Serving on PATH) with `serve`. Ctrl+C or SIGTERM stops it gracefully:
/// running jobs get SIGTERM and are packed as Stopped, serving processes are stopped, and the state stays under --root
/// for the next start.
/// </summary>
internal static class LocalSageMakerCommand
{
    public static RootCommand Create()
    {
        var port = new Option<int>("--port") { Description = "TCP port to listen on; 0 picks a free one.", DefaultValueFactory = _ => 0 };
        var root = new Option<string>("--root") { Description = "Folder for state, training-job and endpoint trees.", DefaultValueFactory = _ => LocalSageMakerOptions.DefaultRoot() };
        var host = new Option<string>("--host") { Description = "Address to bind (the API is unauthenticated: keep it on loopback).", DefaultValueFactory = _ => "127.0.0.1" };
        var region = new Option<string>("--region") { Description = "Region of the ARNs it hands out.", DefaultValueFactory = _ => "us-east-1" };
        var trainingCommand = new Option<string[]>("--training-command")
        {
            Description = "Program and leading arguments that play the training container (default: the d2 beside this tool, else d2 on PATH).",
            AllowMultipleArgumentsPerToken = true,
        };
        var servingCommand = new Option<string[]>("--serving-command")
        {
            Description = "Program and leading arguments that play the serving container (default: D2.Serving on PATH).",
            AllowMultipleArgumentsPerToken = true,
        };
        var fileSystemMounts = new Option<string[]>("--file-system-mount")
        {
            Description = "ID=DIR: where an EFS / FSx for Lustre file system is mounted here; FileSystemDataSource channels of that id link DIR/DirectoryPath (repeatable; default: DirectoryPath as a local path).",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new RootCommand("d2-local-sagemaker: a local SageMaker (training jobs, models, endpoints, InvokeEndpoint) that AWS tools reach with --endpoint-url.")
        {
            port, root, host, region, trainingCommand, servingCommand, fileSystemMounts,
        };
        // A synchronous action: System.CommandLine gives async actions only a short grace after Ctrl+C, and a graceful
        // stop (SIGTERM to running jobs, packing their artifacts) can take longer.
        command.SetAction(parse =>
        {
            var options = new LocalSageMakerOptions
            {
                Port = parse.GetValue(port),
                Root = parse.GetValue(root)!,
                Host = parse.GetValue(host)!,
                Region = parse.GetValue(region)!,
                TrainingCommand = parse.GetValue(trainingCommand) is { Length: > 0 } training ? training : TrainerLocator.Find(),
                Log = Console.Out,
            };
            if (parse.GetValue(servingCommand) is { Length: > 0 } serving)
                options.ServingCommand = serving;
            try
            {
                foreach (var mount in parse.GetValue(fileSystemMounts) ?? [])
                {
                    var parts = mount.Split('=', 2);
                    if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                        throw new ArgumentException($"--file-system-mount '{mount}': expected ID=DIR, e.g. fs-0123456789abcdef0=/mnt/fsx.");
                    options.FileSystemMounts[parts[0]] = Path.GetFullPath(parts[1]);
                }

                return RunAsync(options).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"d2-local-sagemaker: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(LocalSageMakerOptions options)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // Keep the process alive until the graceful stop below has finished.
            stop.TrySetResult();
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        await using var server = await LocalSageMakerServer.StartAsync(options);
        var url = server.BaseUrl.ToString().TrimEnd('/');
        Console.WriteLine($"Local SageMaker listening on {url} (root {server.Root})");
        Console.WriteLine($"Training command: {string.Join(' ', options.TrainingCommand)} train; serving command: {string.Join(' ', options.ServingCommand)} serve");
        Console.WriteLine("Try:");
        Console.WriteLine($"  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION={options.Region} aws sagemaker list-training-jobs --endpoint-url {url}");
        Console.WriteLine("Press Ctrl+C to stop.");

        await stop.Task;
        Console.WriteLine("Stopping: running training jobs get SIGTERM and are packed as Stopped; endpoints are stopped (they restart with the next local-sagemaker on this root).");
        await server.StopAsync();
        Console.WriteLine("Stopped.");
        return 0;
    }
}
