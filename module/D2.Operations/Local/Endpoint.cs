using System.Text.Json.Nodes;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Local;

/// <summary>
/// One endpoint: its DescribeEndpoint document (mutated only under <see cref="Gate"/>), tags, and the serving
/// processes of the deployed configuration. Persisted with the processes' ids so a restarted server can end them.
/// </summary>
internal sealed class Endpoint(StateStore store, JsonObject description, JsonArray tags)
{
    public const string Kind = "endpoints";

    public Lock Gate { get; } = new();
    public JsonObject Description { get; } = description;
    public JsonArray Tags { get; } = tags;
    public string Name => (string)Description["EndpointName"]!;
    public EndpointStatus Status => LocalStatus.Read<EndpointStatus>(Description["EndpointStatus"]);

    /// <summary>Serving processes of the live configuration (empty until the first deployment is healthy).</summary>
    public IReadOnlyList<VariantHost> Hosts { get; set; } = [];

    /// <summary>Process ids (and start times) read back from disk after a restart; the new server ends them.</summary>
    public IReadOnlyList<(int Pid, DateTimeOffset Start)> OrphanProcesses { get; init; } = [];

    /// <summary>Sets the status and LastModifiedTime and persists. Call under <see cref="Gate"/>.</summary>
    public void SetStatus(EndpointStatus status)
    {
        Description["EndpointStatus"] = LocalStatus.Wire(status);
        Description["LastModifiedTime"] = EpochTime.Now();
        Save();
    }

    /// <summary>Call under <see cref="Gate"/>.</summary>
    public void Save()
    {
        var processes = new JsonArray();
        foreach (var host in Hosts)
            processes.Add(new JsonObject { ["Pid"] = host.ProcessId, ["Start"] = host.ProcessStart.ToUnixTimeMilliseconds() });
        store.Save(Kind, Name, new JsonObject
        {
            ["Description"] = Description.DeepClone(),
            ["Tags"] = Tags.DeepClone(),
            ["Local"] = new JsonObject { ["Processes"] = processes },
        });
    }

    public static Endpoint? Load(StateStore store, JsonObject record)
    {
        if (record["Description"] is not JsonObject description)
            return null;
        var orphans = (record["Local"]?["Processes"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select(p => ((int)p["Pid"]!, DateTimeOffset.FromUnixTimeMilliseconds((long)p["Start"]!)))
            .ToList();
        return new Endpoint(store, (JsonObject)description.DeepClone(), record["Tags"]?.DeepClone() as JsonArray ?? []) { OrphanProcesses = orphans };
    }

    /// <summary>The EndpointSummary of ListEndpoints. Call under <see cref="Gate"/>.</summary>
    public JsonObject Summary()
    {
        var summary = new JsonObject();
        foreach (var member in new[] { "EndpointName", "EndpointArn", "CreationTime", "LastModifiedTime", "EndpointStatus" })
            summary[member] = Description[member]?.DeepClone();
        return summary;
    }
}
