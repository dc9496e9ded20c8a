using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Pipeline;

/// <summary>Where a followed training job stands: SageMaker's statuses plus, when a log or metric says so, the
/// iteration, the total loss and the trainer's ETA.</summary>
public sealed record TrainingSnapshot(
    string JobName,
    TrainingJobStatus Status,
    SecondaryStatus SecondaryStatus,
    string? StatusMessage,
    int? Iteration,
    int? MaxIter,
    double? TotalLoss,
    TimeSpan? Eta)
{
    /// <summary>One line for logs and redirected output.</summary>
    public override string ToString()
    {
        var line = $"{JobName}: {Status}/{SecondaryStatus}";
        var metrics = MetricLine();
        if (metrics.Length > 0)
            line += "  " + metrics;
        if (Eta is { } eta)
            line += $"  eta {eta:c}";
        if (!string.IsNullOrEmpty(StatusMessage))
            line += $"  - {StatusMessage}";
        return line;
    }

    /// <summary>The trainer's progress as far as known: <c>iter 20/40  total_loss 0.987</c> (empty when nothing is).</summary>
    public string MetricLine()
    {
        var parts = new List<string>(2);
        if (Iteration is { } iter)
            parts.Add($"iter {iter}{(MaxIter is { } max ? "/" + max : "")}");
        if (TotalLoss is { } loss)
            parts.Add($"total_loss {loss.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)}");
        return string.Join("  ", parts);
    }
}
