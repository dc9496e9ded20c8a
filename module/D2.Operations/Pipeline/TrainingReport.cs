using System.Globalization;
using System.Text;
using D2.Operations.Steps;

namespace D2.Operations.Pipeline;

/// <summary>
/// The training report: the job's final metrics (FinalMetricDataList) as a table, the loss/AP curves from metrics.json
/// as a PNG (ScottPlot, rendered headless through SkiaSharp) and prediction overlays, as Markdown in one folder.
/// </summary>
public static class TrainingReport
{
    public const string MarkdownName = "report.md";
    public const string CurvesName = "curves.png";

    /// <summary>The files written.</summary>
    public sealed record Files(string Markdown, string? Curves, IReadOnlyList<string> Overlays, string Text);

    /// <param name="folder">Report folder (created; previous report files replaced).</param>
    /// <param name="result">The finished job.</param>
    /// <param name="history">Curves from metrics.json (<see cref="MetricsHistory.Empty"/> when the job wrote none).</param>
    /// <param name="overlays">PNG overlays to include, copied as overlays/{name}.png.</param>
    /// <param name="overlaysSkipped">Why there are no overlays, for the reader.</param>
    public static Files Write(string folder, TrainingResult result, MetricsHistory history, IReadOnlyList<(string Name, string Png)> overlays,
        string? overlaysSkipped = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(history);
        ArgumentNullException.ThrowIfNull(overlays);
        Directory.CreateDirectory(folder);
        var curves = history.TotalLoss.Count > 0 || history.AveragePrecision.Count > 0 ? Path.Combine(folder, CurvesName) : null;
        if (curves is not null)
            AtomicFile.Write(curves, temp => MetricsChart.SavePng(history, result.JobName, temp));

        var overlayFolder = Path.Combine(folder, "overlays");
        if (Directory.Exists(overlayFolder))
            Directory.Delete(overlayFolder, recursive: true);
        var copied = new List<string>();
        foreach (var (name, png) in overlays)
        {
            Directory.CreateDirectory(overlayFolder);
            var target = Path.Combine(overlayFolder, name + ".png");
            AtomicFile.Write(target, temp => File.Copy(png, temp));
            copied.Add(target);
        }

        var text = Markdown(result, history, curves is not null, copied.Select(Path.GetFileName).OfType<string>().ToList(), overlaysSkipped);
        var markdown = Path.Combine(folder, MarkdownName);
        AtomicFile.Write(markdown, temp => File.WriteAllText(temp, text));
        return new Files(markdown, curves, copied, text);
    }

    /// <summary>The Markdown: images by path relative to the report folder.</summary>
    public static string Markdown(TrainingResult result, MetricsHistory history, bool hasCurves, IReadOnlyList<string> overlayFiles,
        string? overlaysSkipped = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var d = result.Description;
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## Training report: {result.JobName}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"- Status: **{d.TrainingJobStatus}** ({d.SecondaryStatus})");
        if (d.HyperParameters?.TryGetValue(TrainerHyperParameters.ConfigFile, out var config) == true)
            text.AppendLine(CultureInfo.InvariantCulture, $"- Config: `{config}`");
        if (d.HyperParameters?.TryGetValue(TrainerHyperParameters.Opts, out var opts) == true && opts.Length > 0)
            text.AppendLine(CultureInfo.InvariantCulture, $"- Opts: `{opts}`");
        if (d.TrainingStartTime is { } start && d.TrainingEndTime is { } end)
            text.AppendLine(CultureInfo.InvariantCulture, $"- Training time: {(end - start).TotalSeconds:F0} s");
        if (result.ModelArtifacts is { } model)
            text.AppendLine(CultureInfo.InvariantCulture, $"- Model: `{model}`");
        text.AppendLine();
        text.AppendLine("### Final metrics");
        text.AppendLine();
        if (result.Metrics.Count == 0)
        {
            text.AppendLine("The job reported no metrics.");
        }
        else
        {
            text.AppendLine("| Metric | Value |");
            text.AppendLine("|---|---:|");
            // TrainerMetrics' order (losses, lr, times, then AP), unknown names after.
            var order = TrainerMetrics.Definitions.Select(m => m.Name).ToList();
            foreach (var (name, value) in result.Metrics.OrderBy(m => order.IndexOf(m.Key) is var i && i < 0 ? int.MaxValue : i).ThenBy(m => m.Key, StringComparer.Ordinal))
                text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {value.ToString("G5", CultureInfo.InvariantCulture)} |");
        }
        text.AppendLine();
        text.AppendLine("### Curves");
        text.AppendLine();
        text.AppendLine(hasCurves ? $"![loss and AP curves]({CurvesName})" : "The job wrote no metrics.json, so there are no curves.");
        text.AppendLine(CultureInfo.InvariantCulture, $"({history})");
        text.AppendLine();
        text.AppendLine("### Predictions");
        text.AppendLine();
        if (overlayFiles.Count == 0)
            text.AppendLine(CultureInfo.InvariantCulture, $"No prediction overlays{(overlaysSkipped is null ? "" : ": " + overlaysSkipped)}.");
        foreach (var file in overlayFiles)
            text.AppendLine(CultureInfo.InvariantCulture, $"![{Path.GetFileNameWithoutExtension(file)}](overlays/{file})");
        return text.ToString();
    }
}
