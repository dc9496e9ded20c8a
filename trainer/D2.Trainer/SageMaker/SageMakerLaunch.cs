using D2.Detection.Distributed;
using D2.Trainer.Training;

namespace D2.Trainer.SageMaker;

/// <summary>
/// A SageMaker job on several instances: on each host `d2 train` becomes the supervisor of one worker per GPU (one on a
/// CPU instance), ranked from resourceconfig.json (<see cref="SageMakerCluster"/>); the workers run the same job with
/// their rank in the environment. A failed worker ends the job and, unless the worker wrote one, the failure file names it.
/// </summary>
internal static class SageMakerLaunch
{
    public static int Supervise(SageMakerPaths paths, SageMakerCluster cluster, TextWriter error, CancellationToken stop)
    {
        var gpus = TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.cuda.device_count() : 0;
        var (fileName, arguments) = DistributedLaunch.SelfCommand();
        var launcher = new WorkerLauncher(fileName, arguments, Math.Max(gpus, 1), cluster.NumMachines, cluster.MachineRank, cluster.DistUrl())
        {
            Cuda = gpus > 0,
            Environment = cluster.WorkerEnvironment(),
            Log = error,
        };
        var result = launcher.Run(stop);
        if (result.FailedRank is { } rank)
            FailureFile.Write(paths.FailureFile, $"AlgorithmError: worker rank {rank} on {cluster.CurrentHost} failed with exit code {result.ExitCode}" +
                (result.ExitCode > 128 ? $" (signal {result.ExitCode - 128}; out of memory or killed)" : "") + ".");
        return result.ExitCode == 130 ? 0 : result.ExitCode;
    }
}
