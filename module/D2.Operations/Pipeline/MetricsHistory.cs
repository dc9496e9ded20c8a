using System.Globalization;
using System.Text.Json;

namespace D2.Operations.Pipeline;

/// <summary>
/// The curves of a run, read from the trainer's metrics.json (Detectron2's JSONWriter: one JSON object per line with
/// <c>iteration</c>, the losses and, at evaluation points, <c>bbox/AP</c>, <c>segm/AP</c>, ...).
/// </summary>
public sealed record MetricsHistory(
    IReadOnlyList<(int Iteration, double Value)> TotalLoss,
    IReadOnlyDictionary<string, IReadOnlyList<(int Iteration, double Value)>> AveragePrecision)
{
    /// <summary>The AP series plotted beside the loss.</summary>
    public static IReadOnlyList<string> ApNames { get; } = ["bbox/AP", "segm/AP"];

    public static MetricsHistory Empty { get; } = new([], new Dictionary<string, IReadOnlyList<(int, double)>>());

    /// <summary>Parses metrics.json text; lines that are not JSON objects with an iteration are skipped (a run cut short
    /// leaves a half-written last line).</summary>
    public static MetricsHistory Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var loss = new List<(int, double)>();
        var ap = ApNames.ToDictionary(n => n, _ => new List<(int, double)>(), StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(line);
            }
            catch (JsonException)
            {
                continue;
            }
            using (document)
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("iteration", out var iterElement)
                    || !iterElement.TryGetInt32(out var iteration))
                    continue;
                if (Number(root, "total_loss") is { } value)
                    loss.Add((iteration, value));
                foreach (var name in ApNames)
                    if (Number(root, name) is { } apValue)
                        ap[name].Add((iteration, apValue));
            }
        }
        return new MetricsHistory(loss, ap.Where(p => p.Value.Count > 0)
            .ToDictionary(p => p.Key, p => (IReadOnlyList<(int, double)>)p.Value, StringComparer.Ordinal));
    }

    private static double? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var element) && element.ValueKind == JsonValueKind.Number
            && element.GetDouble() is var value && double.IsFinite(value) ? value : null;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{TotalLoss.Count} loss points, AP: {string.Join(", ", AveragePrecision.Keys)}");
}
