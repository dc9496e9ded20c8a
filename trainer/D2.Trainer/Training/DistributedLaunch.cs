using System.Reflection;
using D2.Detection.Config;
using D2.Detection.Distributed;

namespace D2.Trainer.Training;

/// <summary>
/// `d2 train --num-gpus N [--num-machines M --machine-rank R --dist-url tcp://HOST:PORT]`: Detectron2's launch. This
/// process becomes the machine's supervisor and starts N copies of the same `d2 train` command as workers, each told
/// its rank through the environment (<see cref="DistributedSettings"/>).
/// </summary>
internal static class DistributedLaunch
{
    public static int Run(string? configFile, string[] opts, int numGpus, int numMachines, int machineRank, string distUrl, CancellationToken stop)
    {
        if (configFile is null)
            throw new ArgumentException("--num-gpus/--num-machines need --config-file: multi-worker SageMaker jobs are not supported yet (the job runs one process per host).");
        // The device decides the backend (NCCL on CUDA, Gloo on CPU) and whether each worker gets its own GPU.
        var cfg = D2.Detection.Engine.AutoScaleWorkers.Apply(ModelZoo.GetConfig(configFile, opts), numGpus * numMachines);
        var cuda = cfg.Get<string>("MODEL.DEVICE").StartsWith("cuda", StringComparison.Ordinal);
        // Before starting anything: the total batch must split evenly over the workers.
        D2.Detection.Data.Loader.DetectionDataLoaders.ImagesPerWorker(cfg.Get<int>("SOLVER.IMS_PER_BATCH"), numGpus * numMachines);
        if (cuda)
            NcclNative.Load(); // a host without NCCL fails here, before starting workers
        var (fileName, arguments) = SelfCommand();
        var launcher = new WorkerLauncher(fileName, arguments, numGpus, numMachines, machineRank, distUrl) { Cuda = cuda, Log = Console.Error };
        var result = launcher.Run(stop);
        if (result.FailedRank is not null)
            Console.Error.WriteLine($"d2 train: {result.Message} The job stopped.");
        return result.ExitCode;
    }

    /// <summary>How this very command was started: `dotnet d2.dll ARGS` or `d2 ARGS`; workers run the same.</summary>
    public static (string FileName, List<string> Arguments) SelfCommand()
    {
        var process = Environment.ProcessPath ?? throw new InvalidOperationException("Cannot tell which executable runs d2.");
        var args = Environment.GetCommandLineArgs().Skip(1).ToList();
        if (Path.GetFileNameWithoutExtension(process) == "dotnet")
            args.Insert(0, Assembly.GetEntryAssembly()?.Location ?? throw new InvalidOperationException("Cannot tell where d2.dll is."));
        return (process, args);
    }
}
