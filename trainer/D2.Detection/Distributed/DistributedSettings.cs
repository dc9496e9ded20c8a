using System.Collections;
using System.Globalization;

namespace D2.Detection.Distributed;

/// <summary>
/// Where this worker sits in the job, as the launcher passes it (torchrun's variables): RANK, WORLD_SIZE, LOCAL_RANK,
/// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT, and D2_DIST_TIMEOUT_S (the bound on rendezvous and every collective;
/// default 1800 s as torch.distributed's).
/// </summary>
public sealed record DistributedSettings(int Rank, int WorldSize, int LocalRank, int LocalWorldSize, string MasterAddress, int MasterPort, TimeSpan Timeout)
{
    public const string RankVariable = "RANK";
    public const string WorldSizeVariable = "WORLD_SIZE";
    public const string LocalRankVariable = "LOCAL_RANK";
    public const string LocalWorldSizeVariable = "LOCAL_WORLD_SIZE";
    public const string MasterAddressVariable = "MASTER_ADDR";
    public const string MasterPortVariable = "MASTER_PORT";
    public const string TimeoutVariable = "D2_DIST_TIMEOUT_S";

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(30);

    public bool IsMainProcess => Rank == 0;

    /// <summary>The settings in <paramref name="environment"/> (default: this process's), or null when WORLD_SIZE is not set (not distributed).</summary>
    /// <exception cref="ArgumentException">a variable is missing or malformed (the message names it)</exception>
    public static DistributedSettings? FromEnvironment(IDictionary? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        string? Get(string name) => environment[name] as string;
        if (string.IsNullOrEmpty(Get(WorldSizeVariable)))
            return null;
        int Int(string name, int? fallback = null)
        {
            var text = Get(name);
            if (string.IsNullOrEmpty(text))
                return fallback ?? throw new ArgumentException($"Distributed training: {name} is not set (the launcher sets it with {WorldSizeVariable}).");
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new ArgumentException($"Distributed training: {name}='{text}' is not an integer.");
        }
        var world = Int(WorldSizeVariable);
        var rank = Int(RankVariable);
        if (world < 1 || rank < 0 || rank >= world)
            throw new ArgumentException($"Distributed training: {RankVariable}={rank} is not in [0, {WorldSizeVariable}={world}).");
        var localWorld = Int(LocalWorldSizeVariable, world);
        var localRank = Int(LocalRankVariable, rank % localWorld);
        var address = Get(MasterAddressVariable);
        if (string.IsNullOrEmpty(address))
            throw new ArgumentException($"Distributed training: {MasterAddressVariable} is not set.");
        var port = Int(MasterPortVariable);
        if (port is < 1 or > 65535)
            throw new ArgumentException($"Distributed training: {MasterPortVariable}={port} is not a TCP port.");
        var timeoutText = Get(TimeoutVariable);
        var timeout = DefaultTimeout;
        if (!string.IsNullOrEmpty(timeoutText))
        {
            if (!double.TryParse(timeoutText, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || !(seconds > 0))
                throw new ArgumentException($"Distributed training: {TimeoutVariable}='{timeoutText}' is not a positive number of seconds.");
            timeout = TimeSpan.FromSeconds(seconds);
        }
        return new DistributedSettings(rank, world, localRank, localWorld, address, port, timeout);
    }

    /// <summary>The variables a launcher sets for this worker.</summary>
    public IReadOnlyDictionary<string, string> ToEnvironment() => new Dictionary<string, string>
    {
        [RankVariable] = Rank.ToString(CultureInfo.InvariantCulture),
        [WorldSizeVariable] = WorldSize.ToString(CultureInfo.InvariantCulture),
        [LocalRankVariable] = LocalRank.ToString(CultureInfo.InvariantCulture),
        [LocalWorldSizeVariable] = LocalWorldSize.ToString(CultureInfo.InvariantCulture),
        [MasterAddressVariable] = MasterAddress,
        [MasterPortVariable] = MasterPort.ToString(CultureInfo.InvariantCulture),
        [TimeoutVariable] = Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>
/// A worker's membership of the job: its connection to the rendezvous store and its process group (Gloo on CPU; NCCL,
/// with a Gloo group beside it for bytes, on CUDA).
/// </summary>
public sealed class DistributedSession : IDisposable
{
    private readonly IProcessGroup? _host;

    private DistributedSession(DistributedSettings settings, TcpStore store, IProcessGroup group, IProcessGroup? host)
    {
        Settings = settings;
        Store = store;
        Group = group;
        _host = host;
    }

    public DistributedSettings Settings { get; }
    public TcpStore Store { get; }
    public IProcessGroup Group { get; }

    /// <summary>Connects to the store and joins the group; blocks until every rank has (bounded by the timeout).</summary>
    /// <param name="cuda">true for CUDA training: NCCL (fails at once with the fix when libnccl.so.2 is missing)</param>
    public static DistributedSession Join(DistributedSettings settings, bool cuda)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (cuda)
            NcclNative.Load(); // before any connection: a host without NCCL fails here, not in the middle of a rendezvous
        SupervisorWatch.Start(pid => Console.Error.WriteLine($"rank {settings.Rank}: the supervisor (pid {pid}) is gone; stopping."));
        var store = TcpStore.Connect(settings.MasterAddress, settings.MasterPort, settings.Timeout);
        try
        {
            var gloo = GlooProcessGroup.Create(store, settings.Rank, settings.WorldSize, settings.Timeout);
            if (!cuda)
                return new DistributedSession(settings, store, gloo, null);
            try
            {
                return new DistributedSession(settings, store, NcclProcessGroup.Create(store, gloo, settings.Timeout), gloo);
            }
            catch
            {
                gloo.Dispose();
                throw;
            }
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        Group.Dispose();
        _host?.Dispose();
        Store.Dispose();
    }
}
