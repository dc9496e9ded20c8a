using ScottPlot;

namespace D2.Operations.Pipeline;

/// <summary>total_loss (left axis) and AP (right axis, percent) against the iteration, as one PNG.</summary>
internal static class MetricsChart
{
    public const int Width = 800;
    public const int Height = 450;

    public static void SavePng(MetricsHistory history, string title, string path)
    {
        var plot = new Plot();
        plot.Title(title);
        plot.XLabel("iteration");
        plot.YLabel("total_loss");
        if (history.TotalLoss.Count > 0)
        {
            var loss = plot.Add.Scatter(history.TotalLoss.Select(p => (double)p.Iteration).ToArray(), history.TotalLoss.Select(p => p.Value).ToArray());
            loss.LegendText = "total_loss";
        }
        foreach (var (name, points) in history.AveragePrecision)
        {
            var ap = plot.Add.Scatter(points.Select(p => (double)p.Iteration).ToArray(), points.Select(p => p.Value).ToArray());
            ap.LegendText = name;
            ap.Axes.YAxis = plot.Axes.Right;
        }
        if (history.AveragePrecision.Count > 0)
            plot.Axes.Right.Label.Text = "AP (%)";
        plot.ShowLegend();
        plot.SavePng(path, Width, Height);
    }
}
