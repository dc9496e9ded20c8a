using System.Buffers;
using System.Text.Json;

namespace D2.Detection.Inference;

/// <summary>
/// <c>metadata.json</c> of a model artifact: what a client needs besides the weights and the config.
/// <code>{"class_names": [...], "input_format": "BGR", "training_job": "...", "git_revision": "...",
///  "final_metrics": {"bbox": {"AP": 61.2, ...}, "segm": {...}}}</code>
/// The last three are optional; metrics are Detectron2's results dict (percent), NaN written as null.
/// </summary>
/// <param name="ClassNames">names by contiguous class index (Detectron2's thing_classes)</param>
/// <param name="InputFormat">INPUT.FORMAT: the channel order the model expects ("BGR" or "RGB")</param>
/// <param name="TrainingJobName">the SageMaker training job (or local run) that produced the weights</param>
/// <param name="GitRevision">the source revision of the trainer</param>
/// <param name="FinalMetrics">the evaluation after training, task -> metric -> value</param>
public sealed record ModelMetadata(
    IReadOnlyList<string> ClassNames,
    string InputFormat = "BGR",
    string? TrainingJobName = null,
    string? GitRevision = null,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? FinalMetrics = null)
{
    public byte[] ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("class_names");
            foreach (var name in ClassNames)
                writer.WriteStringValue(name);
            writer.WriteEndArray();
            writer.WriteString("input_format", InputFormat);
            if (TrainingJobName is not null)
                writer.WriteString("training_job", TrainingJobName);
            if (GitRevision is not null)
                writer.WriteString("git_revision", GitRevision);
            if (FinalMetrics is not null)
            {
                writer.WriteStartObject("final_metrics");
                foreach (var (task, metrics) in FinalMetrics)
                {
                    writer.WriteStartObject(task);
                    foreach (var (name, value) in metrics)
                    {
                        if (double.IsFinite(value))
                            writer.WriteNumber(name, value);
                        else
                            writer.WriteNull(name);
                    }
                    writer.WriteEndObject();
                }
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Class names for a model without metadata: "0", "1", ... (Detectron2's visualiser does the same).</summary>
    public static IReadOnlyList<string> IndexNames(int numClasses) =>
        [.. Enumerable.Range(0, numClasses).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    /// <param name="source">names the file in error messages</param>
    /// <exception cref="ModelArtifactException">not JSON, or a field is missing or of the wrong kind</exception>
    public static ModelMetadata Parse(ReadOnlySpan<byte> json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new ModelArtifactException(source, $"is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new ModelArtifactException(source, "must be a JSON object with \"class_names\".");
            // Detectron2 users keep names as MetadataCatalog's thing_classes; either spelling is read.
            if (!(root.TryGetProperty("class_names", out var names) || root.TryGetProperty("thing_classes", out names))
                || names.ValueKind != JsonValueKind.Array || names.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.String))
                throw new ModelArtifactException(source, "needs \"class_names\" (or Detectron2's \"thing_classes\"): a list of strings (names by class index).");
            return new ModelMetadata(
                [.. names.EnumerateArray().Select(n => n.GetString()!)],
                OptionalString(root, "input_format", source) ?? "BGR",
                OptionalString(root, "training_job", source),
                OptionalString(root, "git_revision", source),
                root.TryGetProperty("final_metrics", out var metrics) && metrics.ValueKind != JsonValueKind.Null ? ReadMetrics(metrics, source) : null);
        }
    }

    static string? OptionalString(JsonElement root, string name, string source) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw new ModelArtifactException(source, $"\"{name}\" must be a string.");

    static Dictionary<string, IReadOnlyDictionary<string, double>> ReadMetrics(JsonElement metrics, string source)
    {
        if (metrics.ValueKind != JsonValueKind.Object)
            throw new ModelArtifactException(source, "\"final_metrics\" must be an object of tasks, each an object of numbers.");
        var tasks = new Dictionary<string, IReadOnlyDictionary<string, double>>();
        foreach (var task in metrics.EnumerateObject())
        {
            if (task.Value.ValueKind != JsonValueKind.Object)
                throw new ModelArtifactException(source, $"\"final_metrics\".\"{task.Name}\" must be an object of numbers.");
            var values = new Dictionary<string, double>();
            foreach (var metric in task.Value.EnumerateObject())
            {
                values[metric.Name] = metric.Value.ValueKind switch
                {
                    JsonValueKind.Number => metric.Value.GetDouble(),
                    JsonValueKind.Null => double.NaN,
                    _ => throw new ModelArtifactException(source, $"\"final_metrics\".\"{task.Name}\".\"{metric.Name}\" must be a number or null."),
                };
            }
            tasks[task.Name] = values;
        }
        return tasks;
    }
}
