using System.Text.Json;
using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>
/// The /opt/ml tree of one training job under <c>{root}/training-jobs/{name}/opt/ml</c>: the three config files the
/// training contract defines, channel data, checkpoints, model and output folders, and <c>logs/algo-1.log</c>.
/// </summary>
/// <remarks>A job on several instances has one tree per host: algo-1's as above, algo-N's under <c>instances/algo-N</c>.</remarks>
internal sealed class TrainingWorkspace(string folder, string host = TrainingWorkspace.FirstHost, IReadOnlyList<string>? hosts = null)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public const string FirstHost = "algo-1";

    public string Host { get; } = host;
    public IReadOnlyList<string> Hosts { get; } = hosts ?? [host];

    public string Folder { get; } = folder;
    public string OptMl => Path.Combine(Folder, "opt", "ml");
    public string ConfigDir => Path.Combine(OptMl, "input", "config");
    public string DataDir => Path.Combine(OptMl, "input", "data");
    public string ModelDir => Path.Combine(OptMl, "model");
    public string OutputDir => Path.Combine(OptMl, "output");
    public string OutputDataDir => Path.Combine(OutputDir, "data");
    public string FailureFile => Path.Combine(OutputDir, "failure");
    public string CheckpointDir => Path.Combine(OptMl, "checkpoints");
    public string LogPath => Path.Combine(Folder, "logs", Host + ".log");

    /// <summary>Creates the tree and writes hyperparameters.json, resourceconfig.json and inputdataconfig.json from the
    /// CreateTrainingJob request.</summary>
    public void Prepare(JsonObject request)
    {
        foreach (var dir in new[] { ConfigDir, DataDir, ModelDir, OutputDataDir, CheckpointDir, Path.Combine(OutputDir, "intermediate") })
            Directory.CreateDirectory(dir);
        File.Delete(FailureFile);

        // SageMaker passes every hyperparameter as a string; the model already requires strings.
        var hyperparameters = request["HyperParameters"]?.DeepClone() as JsonObject ?? [];
        Write("hyperparameters.json", hyperparameters);

        var instanceType = (string?)request["ResourceConfig"]?["InstanceType"] ?? "local";
        Write("resourceconfig.json", new JsonObject
        {
            ["current_host"] = Host,
            ["current_instance_type"] = instanceType,
            ["current_group_name"] = "homogeneousCluster",
            ["hosts"] = new JsonArray([.. Hosts.Select(h => (JsonNode)h)]),
            ["instance_groups"] = new JsonArray(new JsonObject
            {
                ["instance_group_name"] = "homogeneousCluster",
                ["instance_type"] = instanceType,
                ["hosts"] = new JsonArray([.. Hosts.Select(h => (JsonNode)h)]),
            }),
            // Several local instances talk over loopback.
            ["network_interface_name"] = Hosts.Count > 1 ? "lo" : "eth0",
        });

        var defaultMode = (string?)request["AlgorithmSpecification"]?["TrainingInputMode"] ?? "File";
        var channels = new JsonObject();
        foreach (var channel in request["InputDataConfig"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var entry = new JsonObject();
            if (channel["ContentType"] is JsonNode contentType)
                entry["ContentType"] = contentType.DeepClone();
            entry["TrainingInputMode"] = (string?)channel["InputMode"] ?? defaultMode;
            entry["S3DistributionType"] = (string?)channel["DataSource"]?["S3DataSource"]?["S3DataDistributionType"] ?? "FullyReplicated";
            entry["RecordWrapperType"] = (string?)channel["RecordWrapperType"] ?? "None";
            channels[(string)channel["ChannelName"]!] = entry;
        }
        Write("inputdataconfig.json", channels);
    }

    private void Write(string name, JsonObject content) =>
        File.WriteAllText(Path.Combine(ConfigDir, name), content.ToJsonString(Indented));
}
