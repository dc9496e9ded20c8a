using System.Globalization;
using System.Text.Json.Nodes;
using D2.SageMaker.Contract;

namespace D2.Trainer.SageMaker;

/// <summary>
/// The job's machines as SageMaker describes them to a bring-your-own container (/opt/ml/input/config/resourceconfig.json:
/// current_host, hosts, network_interface_name, current_instance_type), mapped onto Detectron2's launch the way the
/// SageMaker training toolkit's torchrun launcher does: hosts sorted, the first (algo-1) is machine 0 and the master,
/// port 7777, NCCL/Gloo bound to the job's network interface, and libfabric's EFA provider on EFA instances.
/// </summary>
internal sealed record SageMakerCluster(IReadOnlyList<string> Hosts, string CurrentHost, string? NetworkInterface, string InstanceType)
{
    /// <summary>The toolkit's rendezvous port; MASTER_PORT in the job's Environment overrides it.</summary>
    public const int DefaultPort = 7777;

    // The SageMaker training toolkit's list of instance families with EFA (and those where it enables GPU RDMA).
    private static readonly string[] EfaInstanceTypes =
        ["ml.p3dn.24xlarge", "ml.p4d.24xlarge", "ml.p4de.24xlarge", "ml.p5.48xlarge", "ml.g5.48xlarge", "ml.g4dn.8xlarge", "ml.g4dn.12xlarge"];
    private static readonly string[] RdmaInstanceTypes = ["ml.p4d.24xlarge", "ml.p4de.24xlarge"];

    public int MachineRank => Hosts.ToList().IndexOf(CurrentHost);
    public int NumMachines => Hosts.Count;
    public string Master => Hosts[0];

    /// <summary>One host, no resourceconfig.json: a plain single-machine job.</summary>
    public static SageMakerCluster Single { get; } = new([ResourceConfigJson.FirstHost], ResourceConfigJson.FirstHost, null, "unknown");

    /// <exception cref="JobInputException">the file is not a resource config, or the current host is not among the hosts</exception>
    public static SageMakerCluster Load(string resourceConfigFile)
    {
        if (!File.Exists(resourceConfigFile))
            return Single;
        try
        {
            var config = JsonNode.Parse(File.ReadAllText(resourceConfigFile));
            var hosts = (config?[ResourceConfigJson.Hosts]?.AsArray().Select(h => h?.GetValue<string>() ?? "").Where(h => h.Length > 0) ?? [])
                .Order(StringComparer.Ordinal).ToList();
            var current = config?[ResourceConfigJson.CurrentHost]?.GetValue<string>() ?? ResourceConfigJson.FirstHost;
            if (hosts.Count == 0)
                hosts.Add(current);
            if (!hosts.Contains(current))
                throw new JobInputException($"{resourceConfigFile}: current_host '{current}' is not among hosts ({string.Join(", ", hosts)}).");
            return new SageMakerCluster(hosts, current, config?[ResourceConfigJson.NetworkInterfaceName]?.GetValue<string>(),
                config?[ResourceConfigJson.CurrentInstanceType]?.GetValue<string>() ?? "unknown");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new JobInputException($"{resourceConfigFile}: is not a valid resource config ({e.Message})", e);
        }
    }

    /// <summary>
    /// Detectron2's --dist-url for this job: the master host and port 7777; MASTER_ADDR / MASTER_PORT in the job's
    /// Environment override them (the local SageMaker runs every instance on loopback).
    /// </summary>
    public string DistUrl(IDictionary<string, string?>? environment = null)
    {
        string? Get(string name) => environment is null ? Environment.GetEnvironmentVariable(name) : environment.TryGetValue(name, out var v) ? v : null;
        var port = DefaultPort;
        var text = Get("MASTER_PORT");
        if (!string.IsNullOrEmpty(text) && !int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out port))
            throw new JobInputException($"MASTER_PORT '{text}' in the job's Environment is not a port number.");
        var address = Get("MASTER_ADDR") is { Length: > 0 } given ? given : Master;
        return $"tcp://{address}:{port}";
    }

    /// <summary>The variables the toolkit sets for the collective libraries on this instance.</summary>
    public IReadOnlyDictionary<string, string> WorkerEnvironment()
    {
        var env = new Dictionary<string, string>();
        if (!string.IsNullOrEmpty(NetworkInterface))
        {
            env["NCCL_SOCKET_IFNAME"] = NetworkInterface;
            env["GLOO_SOCKET_IFNAME"] = NetworkInterface;
        }
        if (EfaInstanceTypes.Contains(InstanceType))
        {
            env["FI_PROVIDER"] = "efa";
            if (RdmaInstanceTypes.Contains(InstanceType))
                env["FI_EFA_USE_DEVICE_RDMA"] = "1";
        }
        return env;
    }
}
