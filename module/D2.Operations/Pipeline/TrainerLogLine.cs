using System.Globalization;
using System.Text.RegularExpressions;

namespace D2.Operations.Pipeline;

/// <summary>
/// What a progress display needs from one of the trainer's CommonMetricPrinter lines
/// (<c> eta: 0:02:18  iter: 19  total_loss: 2.078  loss_cls: 0.7295 ...</c>). Detectron2 prints the 0-based iteration
/// just finished, so <see cref="Completed"/> is one more; its ETA is Python's timedelta text ("1 day, 2:03:04").
/// </summary>
public readonly partial record struct TrainerLogLine(int Iteration, double? TotalLoss, TimeSpan? Eta)
{
    /// <summary>Iterations done after this line.</summary>
    public int Completed => Iteration + 1;

    public static bool TryParse(string line, out TrainerLogLine parsed)
    {
        parsed = default;
        if (string.IsNullOrEmpty(line) || IterPattern().Match(line) is not { Success: true } iter)
            return false;
        double? loss = LossPattern().Match(line) is { Success: true } l
            && double.TryParse(l.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : null;
        TimeSpan? eta = null;
        if (EtaPattern().Match(line) is { Success: true } e)
        {
            var days = e.Groups[1].Success ? int.Parse(e.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            eta = new TimeSpan(days, int.Parse(e.Groups[2].Value, CultureInfo.InvariantCulture),
                int.Parse(e.Groups[3].Value, CultureInfo.InvariantCulture), int.Parse(e.Groups[4].Value, CultureInfo.InvariantCulture));
        }
        parsed = new TrainerLogLine(int.Parse(iter.Groups[1].Value, CultureInfo.InvariantCulture), loss, eta);
        return true;
    }

    [GeneratedRegex(@"(?:^|\s)iter: (\d+)(?:\s|$)")]
    private static partial Regex IterPattern();

    [GeneratedRegex(@"(?:^|\s)total_loss: ([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)")]
    private static partial Regex LossPattern();

    [GeneratedRegex(@"(?:^|\s)eta: (?:(\d+) days?, )?(\d+):(\d\d):(\d\d)")]
    private static partial Regex EtaPattern();
}
