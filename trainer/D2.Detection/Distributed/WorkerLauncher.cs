using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;

namespace D2.Detection.Distributed;

/// <summary>How a launched job ended.</summary>
/// <param name="ExitCode">0 when every worker succeeded; else the root-cause worker's code (128 + N when signal N killed it)</param>
/// <param name="FailedRank">the root-cause rank (see <see cref="WorkerLauncher"/>), or null</param>
/// <param name="Reason">what that rank wrote to its failure file (<see cref="WorkerLauncher.FailureFileVariable"/>), or null</param>
/// <param name="FollowedBy">the ranks of this machine that failed after it</param>
public sealed record LaunchResult(int ExitCode, int? FailedRank, string? Message, string? Reason = null, IReadOnlyList<int>? FollowedBy = null)
{
    /// <summary>The root-cause worker's end in words: "was killed by signal 9 (SIGKILL)" or "exited with code 1".</summary>
    public string Cause => WorkerLauncher.DescribeExit(ExitCode);
}

/// <summary>
/// Detectron2's <c>launch</c> (and torchrun's agent) for one machine: starts one worker process per device with its
/// rank in the environment (<see cref="DistributedSettings"/>); global rank = machine rank × workers per machine + local
/// rank. Machine 0 hosts the rendezvous store on --dist-url's port. When a worker fails, the others get
/// <see cref="GracePeriod"/> to fail on their own (their collectives see the closed connections) and are then killed,
/// so a job never outlives a dead worker by more than that. The failure reported is the root cause: the first worker
/// that failed for its own reason (killed, an exception) rather than with <see cref="PeerLoss.ExitCode"/>.
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

    /// <summary>Where each worker may write why it failed (one file per rank, named in its <see cref="FailureFileVariable"/>);
    /// null: nowhere.</summary>
    public string? FailureDirectory { get; init; }

    /// <summary>The variable that tells a worker the file for its failure reason.</summary>
    public const string FailureFileVariable = "D2_WORKER_FAILURE_FILE";

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
                if (FailureDirectory is not null)
                    start.Environment[FailureFileVariable] = FailureFile(rank);
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
        var exited = new List<(int Rank, int Code)>(); // in the order they were seen to exit
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
                exited.Add((worker.Rank, worker.Process.ExitCode));
                if (worker.Process.ExitCode == 0)
                    continue;
                Log.WriteLine($"Worker rank {worker.Rank} (pid {worker.Process.Id}) {DescribeExit(worker.Process.ExitCode)}; stopping the other workers.");
                // The others end on their own (their collectives see the closed connections) or are killed; the order in
                // which they exit tells the cause from the symptoms.
                var deadline = DateTime.UtcNow + GracePeriod;
                while (running.Count > 0 && DateTime.UtcNow < deadline)
                {
                    foreach (var other in running.Where(w => w.Process.HasExited).ToList())
                    {
                        running.Remove(other);
                        exited.Add((other.Rank, other.Process.ExitCode));
                    }
                    Thread.Sleep(20);
                }
                if (running.Count > 0)
                    Log.WriteLine($"Killing workers {string.Join(", ", running.Select(w => w.Rank))} after {GracePeriod.TotalSeconds:0} s.");
                return RootCause(exited);
            }
            Thread.Sleep(50);
        }
        return new LaunchResult(0, null, null);
    }

    /// <summary>The first failure that is not <see cref="PeerLoss.ExitCode"/> (a worker killed, out of memory, or with its
    /// own exception), else the first failure; the failed workers after it follow.</summary>
    private LaunchResult RootCause(List<(int Rank, int Code)> exited)
    {
        var failed = exited.Where(e => e.Code != 0).ToList();
        var root = failed.FirstOrDefault(e => e.Code != PeerLoss.ExitCode);
        if (root == default)
            root = failed[0];
        string? reason = null;
        if (FailureDirectory is not null && File.Exists(FailureFile(root.Rank)))
            reason = File.ReadAllText(FailureFile(root.Rank)).Trim() is { Length: > 0 } text ? text : null;
        var message = $"Worker rank {root.Rank} of {WorldSize} {DescribeExit(root.Code)}" + (reason is null ? "." : $": {reason}");
        return new LaunchResult(root.Code, root.Rank, message, reason, [.. failed.Where(f => f.Rank != root.Rank).Select(f => f.Rank)]);
    }

    private string FailureFile(int rank) => Path.Combine(FailureDirectory!, $"rank-{rank.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>An exit code in words; .NET reports a process killed by signal N as 128 + N.</summary>
    public static string DescribeExit(int code) => code switch
    {
        > 128 and < 160 => $"was killed by signal {code - 128}" + (code - 128) switch
        {
            9 => " (SIGKILL: out of memory, or killed)",
            15 => " (SIGTERM)",
            6 => " (SIGABRT)",
            11 => " (SIGSEGV)",
            _ => "",
        },
        PeerLoss.ExitCode => $"exited with code {code} (it lost its peers)",
        _ => $"exited with code {code}",
    };

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
