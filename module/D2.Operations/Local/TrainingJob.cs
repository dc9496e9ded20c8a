using System.Text.Json.Nodes;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Local;

/// <summary>
/// One training job: its DescribeTrainingJob document (the state itself, mutated only under <see cref="Gate"/>),
/// the original request, tags, and the process while it runs. Persisted as one record after every change.
/// </summary>
internal sealed class TrainingJob
{
    public const string Kind = "training-jobs";

    private readonly StateStore _store;

    public TrainingJob(StateStore store, JsonObject description, JsonObject request, JsonArray tags)
    {
        _store = store;
        Description = description;
        Request = request;
        Tags = tags;
    }

    public Lock Gate { get; } = new();
    public JsonObject Description { get; }
    public JsonObject Request { get; }
    public JsonArray Tags { get; }
    public string Name => (string)Description["TrainingJobName"]!;
    public TrainingJobStatus Status => LocalStatus.Read<TrainingJobStatus>(Description["TrainingJobStatus"]);

    /// <summary>Running process (null before start and after exit).</summary>
    public LocalProcess? Process { get; set; }

    /// <summary>Set once a stop was asked: the secondary status the job ends in (Stopped or MaxRuntimeExceeded).</summary>
    public SecondaryStatus? StopAs { get; set; }

    public int? Pid { get; set; }
    public DateTimeOffset? ProcessStart { get; set; }

    /// <summary>Appends a SecondaryStatusTransition (closing the previous one) and optionally changes the primary
    /// status; persists. Call under <see cref="Gate"/>.</summary>
    public void Transition(SecondaryStatus secondary, string message, TrainingJobStatus? primary = null)
    {
        var now = EpochTime.Now();
        if (Description["SecondaryStatusTransitions"] is not JsonArray transitions)
            Description["SecondaryStatusTransitions"] = transitions = [];
        if (transitions.LastOrDefault() is JsonObject current && (string?)current["Status"] == LocalStatus.Wire(secondary))
        {
            // SageMaker keeps one transition per status and updates its message (Starting: "Launching ..." then "Preparing ...").
            current["StatusMessage"] = message;
        }
        else
        {
            if (transitions.LastOrDefault() is JsonObject previous && previous["EndTime"] is null)
                previous["EndTime"] = now.DeepClone();
            var entry = new JsonObject { ["Status"] = LocalStatus.Wire(secondary), ["StartTime"] = now.DeepClone(), ["StatusMessage"] = message };
            if (secondary is SecondaryStatus.Completed or SecondaryStatus.Failed or SecondaryStatus.Stopped or SecondaryStatus.MaxRuntimeExceeded)
                entry["EndTime"] = now.DeepClone();
            transitions.Add(entry);
        }
        Description["SecondaryStatus"] = LocalStatus.Wire(secondary);
        if (primary is { } status)
            Description["TrainingJobStatus"] = LocalStatus.Wire(status);
        Description["LastModifiedTime"] = now.DeepClone();
        Save();
    }

    /// <summary>Persists the record. Call under <see cref="Gate"/>.</summary>
    public void Save()
    {
        var local = new JsonObject();
        if (Pid is int pid)
            local["Pid"] = pid;
        if (ProcessStart is DateTimeOffset start)
            local["ProcessStart"] = start.ToUnixTimeMilliseconds();
        _store.Save(Kind, Name, new JsonObject
        {
            ["Description"] = Description.DeepClone(),
            ["Request"] = Request.DeepClone(),
            ["Tags"] = Tags.DeepClone(),
            ["Local"] = local,
        });
    }

    public static TrainingJob? Load(StateStore store, JsonObject record)
    {
        if (record["Description"] is not JsonObject description || record["Request"] is not JsonObject request)
            return null;
        var job = new TrainingJob(store, (JsonObject)description.DeepClone(), (JsonObject)request.DeepClone(),
            record["Tags"]?.DeepClone() as JsonArray ?? []);
        if (record["Local"]?["Pid"] is JsonValue pid)
            job.Pid = pid.GetValue<int>();
        if (record["Local"]?["ProcessStart"] is JsonValue start)
            job.ProcessStart = DateTimeOffset.FromUnixTimeMilliseconds(start.GetValue<long>());
        return job;
    }

    /// <summary>The TrainingJobSummary of ListTrainingJobs. Call under <see cref="Gate"/>.</summary>
    public JsonObject Summary()
    {
        var summary = new JsonObject();
        foreach (var member in new[] { "TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime", "LastModifiedTime", "TrainingJobStatus", "SecondaryStatus" })
        {
            if (Description[member] is JsonNode value)
                summary[member] = value.DeepClone();
        }
        return summary;
    }
}
