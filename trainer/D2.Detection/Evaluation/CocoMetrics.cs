using System.Globalization;
using System.Text;
using System.Text.Json;

namespace D2.Detection.Evaluation;

/// <summary>One task's COCO numbers as Detectron2's COCOEvaluator reports them (<c>_derive_coco_results</c>):
/// AP, AP50, AP75, APs, APm, APl in percent (NaN where pycocotools has -1), <c>AP-&lt;name&gt;</c> per category
/// when there is more than one, and pycocotools' raw 12 stats.</summary>
public sealed class CocoMetrics
{
    /// <summary>The names Detectron2 gives stats[0..5].</summary>
    public static readonly IReadOnlyList<string> SummaryNames = ["AP", "AP50", "AP75", "APs", "APm", "APl"];

    CocoMetrics(CocoIouType iouType, IReadOnlyList<KeyValuePair<string, double>> values, IReadOnlyList<KeyValuePair<string, double>> perCategory,
        IReadOnlyList<double> stats, IReadOnlyList<string> summaryLines)
    {
        IouType = iouType;
        Values = values;
        PerCategory = perCategory;
        Stats = stats;
        SummaryLines = summaryLines;
    }

    public CocoIouType IouType { get; }

    /// <summary>AP, AP50, AP75, APs, APm, APl (percent, NaN if undefined), then AP-&lt;name&gt; per category.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Values { get; }

    /// <summary>(category name, AP in percent) in category id order; empty for a single category, as in Detectron2.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> PerCategory { get; }

    /// <summary>COCOeval.stats: 12 fractions, -1 where undefined.</summary>
    public IReadOnlyList<double> Stats { get; }

    /// <summary>The lines COCOeval.summarize() prints.</summary>
    public IReadOnlyList<string> SummaryLines { get; }

    public double this[string name] => Values.First(v => v.Key == name).Value;

    /// <summary>The lower-case name used as a key: "bbox" or "segm".</summary>
    public string TaskName => IouType == CocoIouType.Segm ? "segm" : "bbox";

    public static CocoMetrics From(CocoEvaluation evaluation, CocoDataset groundTruth)
    {
        var values = new List<KeyValuePair<string, double>>();
        for (var i = 0; i < SummaryNames.Count; i++)
        {
            var stat = evaluation.Stats[i];
            values.Add(new(SummaryNames[i], stat >= 0 ? stat * 100 : double.NaN));
        }

        var perCategory = new List<KeyValuePair<string, double>>();
        var p = evaluation.Params;
        var names = groundTruth.CategoryNames();
        if (p.CategoryIds.Count > 1)
        {
            var all = 0;
            var largest = p.MaxDetections.Count - 1;
            for (var k = 0; k < p.CategoryIds.Count; k++)
            {
                // precision[:, :, k, area=all, maxDets=100], entries > -1, in numpy's (t, r) order.
                var selected = new List<double>();
                for (var t = 0; t < p.IouThresholds.Count; t++)
                for (var r = 0; r < p.RecallThresholds.Count; r++)
                {
                    var value = evaluation.Precision(t, r, k, all, largest);
                    if (value > -1)
                        selected.Add(value);
                }
                var ap = selected.Count > 0 ? NumpyCompat.Mean(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(selected)) : double.NaN;
                var name = names.TryGetValue(p.CategoryIds[k], out var n) ? n : p.CategoryIds[k].ToString(CultureInfo.InvariantCulture);
                perCategory.Add(new(name, ap * 100));
            }
        }
        // A repeated name keeps its last value, as the dict update in Detectron2 does.
        foreach (var (name, ap) in perCategory)
        {
            var key = "AP-" + name;
            var existing = values.FindIndex(v => v.Key == key);
            if (existing >= 0)
                values[existing] = new(key, ap);
            else
                values.Add(new(key, ap));
        }
        return new CocoMetrics(p.IouType, values, perCategory, evaluation.Stats, evaluation.SummaryLines);
    }

    /// <summary>Writes <c>{"AP": .., ..., "AP-name": .., "stats": [12 numbers]}</c>. NaN is written as null
    /// (JSON has no NaN); stats keep pycocotools' -1.</summary>
    public void WriteJson(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (name, value) in Values)
        {
            if (double.IsNaN(value))
                writer.WriteNull(name);
            else
                writer.WriteNumber(name, value);
        }
        writer.WriteStartArray("stats");
        foreach (var stat in Stats)
            writer.WriteNumberValue(stat);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Detectron2's log: "Evaluation results for bbox:" with a pipe table of the six numbers, then the
    /// per-category table (three name/AP pairs per row).</summary>
    public string FormatTables()
    {
        var text = new StringBuilder();
        text.AppendLine($"Evaluation results for {TaskName}:");
        text.Append(PipeTable([.. SummaryNames], [[.. Values.Take(SummaryNames.Count).Select(v => Format(v.Value))]], center: true));
        if (PerCategory.Count > 0)
        {
            var columns = Math.Min(6, PerCategory.Count * 2);
            var flat = PerCategory.SelectMany(c => new[] { c.Key, Format(c.Value) }).ToList();
            var rows = new List<string[]>();
            for (var i = 0; i < flat.Count; i += columns)
                rows.Add([.. flat.Skip(i).Take(columns)]);
            var headers = Enumerable.Range(0, columns).Select(c => c % 2 == 0 ? "category" : "AP").ToArray();
            text.AppendLine($"Per-category {TaskName} AP:");
            text.Append(PipeTable(headers, rows, center: false));
        }
        return text.ToString();
    }

    static string Format(double value) => double.IsNaN(value) ? "nan" : NumpyCompat.Fixed3(value);

    static string PipeTable(string[] headers, List<string[]> rows, bool center)
    {
        var widths = headers.Select((h, c) => rows.Select(r => c < r.Length ? r[c].Length : 0).Append(h.Length).Max()).ToArray();
        string Cell(string value, int c) => center
            ? value.PadLeft((widths[c] + value.Length) / 2).PadRight(widths[c])
            : value.PadRight(widths[c]);
        var text = new StringBuilder();
        text.AppendLine("| " + string.Join(" | ", headers.Select(Cell)) + " |");
        text.AppendLine("|" + string.Join("|", widths.Select(w => center ? ":" + new string('-', w) + ":" : ":" + new string('-', w + 1))) + "|");
        foreach (var row in rows)
            text.AppendLine("| " + string.Join(" | ", headers.Select((_, c) => Cell(c < row.Length ? row[c] : "", c))) + " |");
        return text.ToString();
    }
}
