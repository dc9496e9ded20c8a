using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace D2.SageMaker.Contract;

/// <summary>
/// The trainer's log lines that SageMaker turns into metrics, defined once: the trainer prints evaluation lines with
/// <see cref="FormatEvaluationLine"/>, its training lines are Detectron2's CommonMetricPrinter lines
/// (<c> eta: 0:00:10  iter: 19  total_loss: 1.234  loss_cls: 0.51 ...  time: 0.8123  last_time: ...  data_time: 0.0004 ...   lr: 0.00019</c>),
/// and StartTraining sends <see cref="Definitions"/> as AlgorithmSpecification.MetricDefinitions.
/// The regexes avoid look-arounds and word boundaries so that they mean the same in SageMaker's engine and in .NET's.
/// </summary>
public static class TrainerMetrics
{
    /// <summary>Prefix of the evaluation lines.</summary>
    public const string EvaluationPrefix = "[eval]";

    const string Number = "([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)";

    /// <summary>The losses CommonMetricPrinter prints for Mask R-CNN (Faster R-CNN lacks loss_mask).</summary>
    public static IReadOnlyList<string> Losses { get; } = ["total_loss", "loss_cls", "loss_box_reg", "loss_mask", "loss_rpn_cls", "loss_rpn_loc"];

    /// <summary>The evaluation tasks and the metrics reported for each (Detectron2's COCOEvaluator, in percent).</summary>
    public static IReadOnlyList<string> EvaluationTasks { get; } = ["bbox", "segm"];

    public static IReadOnlyList<string> EvaluationMetrics { get; } = ["AP", "AP50", "AP75", "APs", "APm", "APl"];

    /// <summary>Every definition, 20 in all (SageMaker allows 40).</summary>
    public static IReadOnlyList<MetricDefinition> Definitions { get; } = BuildDefinitions();

    static List<MetricDefinition> BuildDefinitions()
    {
        // A leading space keeps "time:" from matching inside "last_time:"/"data_time:" and "loss_cls:" inside "loss_rpn_cls:".
        var definitions = Losses.Select(loss => new MetricDefinition(loss, $" {loss}: {Number}")).ToList();
        definitions.Add(new MetricDefinition("lr", $" lr: {Number}"));
        definitions.Add(new MetricDefinition("time", $" time: {Number}"));
        definitions.Add(new MetricDefinition("data_time", $" data_time: {Number}"));
        foreach (var task in EvaluationTasks)
            foreach (var metric in EvaluationMetrics)
                definitions.Add(new MetricDefinition($"{task}/{metric}", $" {Regex.Escape(task)}/{metric}={Number}"));
        return definitions;
    }

    /// <summary>
    /// The line for one evaluation result: <c>[eval] balloon_val bbox/AP=71.4012 bbox/AP50=97.2000 ...</c> (NaN, for an
    /// undefined AP, is printed as <c>nan</c> and matches no regex, so SageMaker records no value rather than a wrong one).
    /// </summary>
    public static string FormatEvaluationLine(string dataset, string task, IReadOnlyDictionary<string, double> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var line = new StringBuilder(EvaluationPrefix).Append(' ').Append(dataset);
        foreach (var (name, value) in metrics)
        {
            // Per-class APs ("AP-balloon") stay in evaluation.json; the line carries the summary.
            if (name.StartsWith("AP-", StringComparison.Ordinal))
                continue;
            line.Append(' ').Append(task).Append('/').Append(name).Append('=')
                .Append(double.IsFinite(value) ? value.ToString("F4", CultureInfo.InvariantCulture) : "nan");
        }
        return line.ToString();
    }

    /// <summary>Applies the definitions to log lines as SageMaker does (<see cref="MetricCapture"/>): the last value per metric.</summary>
    public static IReadOnlyDictionary<string, double> FinalValues(IEnumerable<string> lines, IReadOnlyList<MetricDefinition>? definitions = null)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var capture = new MetricCapture(definitions ?? Definitions);
        foreach (var line in lines)
            capture.Observe(line, DateTimeOffset.UtcNow);
        return capture.Final().ToDictionary(m => m.Name, m => m.Value, StringComparer.Ordinal);
    }
}
