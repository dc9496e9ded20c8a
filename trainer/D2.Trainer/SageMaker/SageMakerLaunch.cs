using D2.Detection.Distributed;
using D2.Trainer.Training;
using D2.SageMaker.Contract;

namespace D2.Trainer.SageMaker;

/// <summary>
/// A SageMaker job with more than one worker (several instances, several GPUs on one, or the num-gpus hyperparameter):
/// on each host `d2 train` becomes the supervisor of one worker per GPU (one on a CPU instance), ranked from
/// resourceconfig.json (<see cref="SageMakerCluster"/>); the workers run the same job with their rank in the environment.
/// A failed worker ends the job, and the failure file names the root-cause rank, its host and its cause.
/// </summary>
internal static class SageMakerLaunch
{
    /// <summary>The machines and workers per machine of a multi-worker job, or null for a single-process job.</summary>
    public sealed record LaunchPlan(SageMakerCluster Cluster, int WorkersPerHost, bool Cuda);

    /// <exception cref="JobInputException">num-gpus is not a positive integer, or asks for more GPUs than the instance has</exception>
    public static LaunchPlan? Plan(SageMakerPaths paths)
    {
        var cluster = SageMakerCluster.Load(paths.ResourceConfigFile);
        var hyperparameters = Hyperparameters.Load(paths.HyperparametersFile);
        var gpus = TorchSharp.torch.cuda.is_available() ? TorchSharp.torch.cuda.device_count() : 0;
        var workers = Math.Max(gpus, 1);
        if (hyperparameters.GetInt(TrainerHyperParameters.NumGpus) is { } asked)
        {
            if (asked < 1)
                throw new JobInputException($"hyperparameter '{TrainerHyperParameters.NumGpus}' must be at least 1, not {asked}.");
            if (gpus > 0 && asked > gpus)
                throw new JobInputException($"hyperparameter '{TrainerHyperParameters.NumGpus}' asks for {asked} workers, but {cluster.InstanceType} shows {gpus} GPU(s).");
            workers = (int)asked;
        }
        return cluster.NumMachines > 1 || workers > 1 ? new LaunchPlan(cluster, workers, gpus > 0) : null;
    }

    public static int Supervise(SageMakerPaths paths, LaunchPlan plan, TextWriter error, CancellationToken stop)
    {
        var cluster = plan.Cluster;
        var (fileName, arguments) = DistributedLaunch.SelfCommand();
        var failures = Directory.CreateTempSubdirectory("d2-worker-failures-");
        try
        {
            // One host: its workers meet on loopback at a free port, whatever the host is called.
            var distUrl = cluster.NumMachines == 1 ? "auto" : cluster.DistUrl();
            var launcher = new WorkerLauncher(fileName, arguments, plan.WorkersPerHost, cluster.NumMachines, cluster.MachineRank, distUrl)
            {
                Cuda = plan.Cuda,
                Environment = cluster.WorkerEnvironment(),
                Log = error,
                FailureDirectory = failures.FullName,
            };
            var result = launcher.Run(stop);
            if (result.FailedRank is { } rank)
            {
                var world = launcher.WorldSize;
                var reason = result.Reason
                    ?? FailureFile.AlgorithmError($"rank {rank} of {world} on {cluster.CurrentHost} {result.Cause}" + (result.ExitCode > 128 ? "." : " without writing a reason (see its log)."));
                if (result.FollowedBy is { Count: > 0 } others)
                    reason += $" Then rank{(others.Count > 1 ? "s" : "")} {string.Join(", ", others)} on {cluster.CurrentHost} failed too.";
                FailureFile.Write(paths.FailureFile, reason);
            }
            return result.ExitCode == 130 ? 0 : result.ExitCode;
        }
        finally
        {
            failures.Delete(recursive: true);
        }
    }

    /// <summary>A worker's failure reason with its rank and host: "AlgorithmError: rank 1 of 2 on algo-2: ...".</summary>
    public static string WorkerReason(SageMakerPaths paths, DistributedSettings worker, string reason)
    {
        string host;
        try
        {
            host = SageMakerCluster.Load(paths.ResourceConfigFile).CurrentHost;
        }
        catch (JobInputException)
        {
            host = "?";
        }
        var where = $"rank {worker.Rank} of {worker.WorldSize} on {host}";
        // Keep SageMaker's leading error class ("ClientError: ", "AlgorithmError: ") first.
        return FailureFile.TrySplit(reason, out var errorClass, out var message)
            ? $"{errorClass}: {where}: {message}"
            : $"{where}: {reason}";
    }
}
