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

    public const string FirstHost = ResourceConfigJson.FirstHost;

    public string Host { get; } = host;
    public IReadOnlyList<string> Hosts { get; } = hosts ?? [host];

    public string Folder { get; } = folder;

    /// <summary>The container's tree, laid out by the contract; the local SageMaker's own SM_* variables do not move it.</summary>
    public SageMakerPaths Paths { get; } = SageMakerPaths.Under(Path.Combine(folder, "opt", "ml"));

    public string OptMl => Paths.BaseDirectory;
    public string ConfigDir => Paths.ConfigDirectory;
    public string DataDir => Paths.DataDirectory;
    public string ModelDir => Paths.ModelDirectory;
    public string OutputDir => Paths.OutputDirectory;
    public string OutputDataDir => Paths.OutputDataDirectory;
    public string FailureFile => Paths.FailureFile;
    public string CheckpointDir => Paths.CheckpointDirectory;
    public string LogPath => Path.Combine(Folder, "logs", Host + ".log");

    /// <summary>Creates the tree and writes hyperparameters.json, resourceconfig.json and inputdataconfig.json from the
    /// CreateTrainingJob request.</summary>
    public void Prepare(JsonObject request)
    {
        foreach (var dir in new[] { ConfigDir, DataDir, ModelDir, OutputDataDir, CheckpointDir, Paths.IntermediateOutputDirectory })
            Directory.CreateDirectory(dir);
        File.Delete(FailureFile);

        // SageMaker passes every hyperparameter as a string; the model already requires strings.
        var hyperparameters = request["HyperParameters"]?.DeepClone() as JsonObject ?? [];
        Write(Paths.HyperparametersFile, hyperparameters);

        var instanceType = (string?)request["ResourceConfig"]?["InstanceType"] ?? "local";
        Write(Paths.ResourceConfigFile, new JsonObject
        {
            [ResourceConfigJson.CurrentHost] = Host,
            [ResourceConfigJson.CurrentInstanceType] = instanceType,
            [ResourceConfigJson.CurrentGroupName] = ResourceConfigJson.HomogeneousCluster,
            [ResourceConfigJson.Hosts] = new JsonArray([.. Hosts.Select(h => (JsonNode)h)]),
            [ResourceConfigJson.InstanceGroups] = new JsonArray(new JsonObject
            {
                [ResourceConfigJson.InstanceGroupName] = ResourceConfigJson.HomogeneousCluster,
                [ResourceConfigJson.InstanceType] = instanceType,
                [ResourceConfigJson.Hosts] = new JsonArray([.. Hosts.Select(h => (JsonNode)h)]),
            }),
            // Several local instances talk over loopback.
            [ResourceConfigJson.NetworkInterfaceName] = Hosts.Count > 1 ? "lo" : "eth0",
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
        Write(Paths.InputDataConfigFile, channels);
    }

    private static void Write(string path, JsonObject content) =>
        File.WriteAllText(path, content.ToJsonString(Indented));
}
