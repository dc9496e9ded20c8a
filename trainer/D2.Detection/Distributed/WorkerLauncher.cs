using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;

namespace D2.Detection.Distributed;

/// <summary>How a launched job ended.</summary>
/// <param name="ExitCode">0 when every worker succeeded; else the first failed worker's code (1 when it was killed by a signal)</param>
/// <param name="FailedRank">the global rank that failed first, or null</param>
public sealed record LaunchResult(int ExitCode, int? FailedRank, string? Message);

/// <summary>
/// Detectron2's <c>launch</c> (and torchrun's agent) for one machine: starts one worker process per device with its
/// rank in the environment (<see cref="DistributedSettings"/>); global rank = machine rank × workers per machine + local
/// rank. Machine 0 hosts the rendezvous store on --dist-url's port. When a worker fails, the others get
/// <see cref="GracePeriod"/> to fail on their own (their collectives see the closed connections) and are then killed,
/// so a job never outlives a dead worker by more than that.
/// </summary>
public sealed class WorkerLauncher
{
    /// <param name="workerCommand">the worker's executable and arguments (every worker gets the same)</param>
    public WorkerLauncher(string fileName, IReadOnlyList<string> arguments, int workersPerMachine, int numMachines, int machineRank, string distUrl)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        if (workersPerMachine < 1)
            throw new ArgumentException($"--num-gpus must be at least 1, not {workersPerMachine}.");
        if (numMachines < 1)
            throw new ArgumentException($"--num-machines must be at least 1, not {numMachines}.");
        if (machineRank < 0 || machineRank >= numMachines)
            throw new ArgumentException($"--machine-rank {machineRank} must be in [0, --num-machines {numMachines}).");
        FileName = fileName;
        Arguments = arguments;
        WorkersPerMachine = workersPerMachine;
        NumMachines = numMachines;
        MachineRank = machineRank;
        (Host, Port) = ParseDistUrl(distUrl, numMachines);
    }

    public string FileName { get; }
    public IReadOnlyList<string> Arguments { get; }
    public int WorkersPerMachine { get; }
    public int NumMachines { get; }
    public int MachineRank { get; }
    public string Host { get; }
    public int Port { get; set; }
    public int WorldSize => WorkersPerMachine * NumMachines;

    /// <summary>How long the other workers may take to end by themselves after one failed.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The bound on the rendezvous and every collective (D2_DIST_TIMEOUT_S).</summary>
    public TimeSpan Timeout { get; init; } = DistributedSettings.DefaultTimeout;

    /// <summary>A CUDA job: each worker sees only its own GPU (CUDA_VISIBLE_DEVICES), as NCCL binds to the current device.</summary>
    public bool Cuda { get; init; }

    /// <summary>Extra variables for every worker (the network interface for NCCL and Gloo, EFA's provider).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Progress lines (worker starts, failures); the workers' own output goes to this process's stdout/stderr.</summary>
    public TextWriter Log { get; init; } = Console.Error;

    /// <summary>
    /// Parses Detectron2's --dist-url: tcp://HOST:PORT, or "auto" (one machine only: loopback and a free port).
    /// </summary>
    public static (string Host, int Port) ParseDistUrl(string distUrl, int numMachines)
    {
        ArgumentException.ThrowIfNullOrEmpty(distUrl);
        if (distUrl == "auto")
        {
            if (numMachines != 1)
                throw new ArgumentException("--dist-url auto works on one machine only; give tcp://HOST:PORT of machine 0 for several machines.");
            return ("127.0.0.1", 0);
        }
        if (!Uri.TryCreate(distUrl, UriKind.Absolute, out var uri) || uri.Scheme != "tcp" || uri.Port < 1 || string.IsNullOrEmpty(uri.Host))
            throw new ArgumentException($"--dist-url '{distUrl}' is not tcp://HOST:PORT (or auto).");
        return (uri.Host, uri.Port);
    }

    /// <summary>Runs the workers of this machine to the end.</summary>
    public LaunchResult Run(CancellationToken cancel = default)
    {
        TcpStoreServer? server = null;
        if (MachineRank == 0)
        {
            // Listen on every interface for other machines; loopback alone for a one-machine job.
            server = new TcpStoreServer(NumMachines == 1 ? IPAddress.Loopback : IPAddress.Any, Port);
            Port = server.Port;
        }
        var workers = new List<(int Rank, Process Process)>();
        try
        {
            for (var local = 0; local < WorkersPerMachine; local++)
            {
                var rank = MachineRank * WorkersPerMachine + local;
                var settings = new DistributedSettings(rank, WorldSize, local, WorkersPerMachine, Host, Port, Timeout);
                var start = new ProcessStartInfo(FileName) { UseShellExecute = false };
                foreach (var argument in Arguments) start.ArgumentList.Add(argument);
                foreach (var (name, value) in Environment) start.Environment[name] = value;
                foreach (var (name, value) in settings.ToEnvironment()) start.Environment[name] = value;
                start.Environment[SupervisorWatch.Variable] = System.Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
                // As torchrun: one intra-op thread budget per worker, so N workers do not oversubscribe the cores.
                if (WorkersPerMachine > 1 && System.Environment.GetEnvironmentVariable("OMP_NUM_THREADS") is null)
                    start.Environment["OMP_NUM_THREADS"] = Math.Max(1, System.Environment.ProcessorCount / WorkersPerMachine).ToString(CultureInfo.InvariantCulture);
                if (Cuda)
                    start.Environment["CUDA_VISIBLE_DEVICES"] = VisibleDevice(local);
                workers.Add((rank, Process.Start(start) ?? throw new InvalidOperationException($"Could not start worker {rank}: {FileName}")));
            }
            Log.WriteLine($"Launched {WorkersPerMachine} worker(s) on machine {MachineRank} of {NumMachines} (world size {WorldSize}, store {Host}:{Port}).");
            return Supervise(workers, cancel);
        }
        finally
        {
            foreach (var (_, process) in workers)
            {
                Kill(process);
                process.Dispose();
            }
            server?.Dispose();
        }
    }

    private static string VisibleDevice(int local)
    {
        var visible = System.Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
        if (string.IsNullOrEmpty(visible))
            return local.ToString(CultureInfo.InvariantCulture);
        var devices = visible.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return local < devices.Length
            ? devices[local]
            : throw new ArgumentException($"--num-gpus asks for worker {local} but CUDA_VISIBLE_DEVICES='{visible}' lists {devices.Length} device(s).");
    }

    private LaunchResult Supervise(List<(int Rank, Process Process)> workers, CancellationToken cancel)
    {
        var running = workers.ToList();
        while (running.Count > 0)
        {
            if (cancel.IsCancellationRequested)
            {
                // SIGTERM (StopTrainingJob, spot) reached the supervisor: pass it on; the workers agree on the iteration
                // to stop after, rank 0 checkpoints, and all exit.
                foreach (var (_, process) in running)
                    Signal(process, SigTerm);
                if (!WaitAll(running, Timeout < GracePeriod * 4 ? Timeout : GracePeriod * 4))
                {
                    Log.WriteLine("Workers did not stop in time after SIGTERM; killing them.");
                    return new LaunchResult(1, null, "Workers did not stop in time after SIGTERM.");
                }
                // 130: a worker that stopped on the signal (`d2 train`'s code for a stopped run).
                var codes = workers.Select(w => (w.Rank, Code: w.Process.ExitCode)).ToList();
                var bad = codes.FirstOrDefault(c => c.Code is not 0 and not 130);
                return bad.Code != 0
                    ? new LaunchResult(bad.Code, bad.Rank, $"Worker rank {bad.Rank} failed with exit code {bad.Code} while stopping.")
                    : new LaunchResult(codes.Any(c => c.Code == 130) ? 130 : 0, null, null);
            }
            foreach (var worker in running.Where(w => w.Process.HasExited).ToList())
            {
                running.Remove(worker);
                var code = worker.Process.ExitCode;
                if (code == 0)
                    continue;
                var message = $"Worker rank {worker.Rank} (pid {worker.Process.Id}) failed with exit code {code}" +
                    (code > 128 ? $" (signal {code - 128})" : "") + "; stopping the other workers.";
                Log.WriteLine(message);
                if (!WaitAll(running, GracePeriod))
                    Log.WriteLine($"Killing workers {string.Join(", ", running.Where(w => !w.Process.HasExited).Select(w => w.Rank))} after {GracePeriod.TotalSeconds:0} s.");
                return new LaunchResult(code, worker.Rank, message);
            }
            Thread.Sleep(50);
        }
        var failed = workers.FirstOrDefault(w => w.Process.HasExited && w.Process.ExitCode != 0);
        return failed.Process is null
            ? new LaunchResult(0, null, null)
            : new LaunchResult(failed.Process.ExitCode, failed.Rank, $"Worker rank {failed.Rank} failed with exit code {failed.Process.ExitCode}.");
    }

    private static bool WaitAll(List<(int Rank, Process Process)> workers, TimeSpan grace)
    {
        var deadline = DateTime.UtcNow + grace;
        foreach (var (_, process) in workers)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !process.WaitForExit(left))
                return false;
        }
        return true;
    }

    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    private static void Signal(Process process, int signal)
    {
        if (!process.HasExited && OperatingSystem.IsLinux())
            _ = SysKill(process.Id, signal);
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
    }
}
