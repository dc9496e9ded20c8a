using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace D2.Operations.Local;

/// <summary>
/// AlgorithmSpecification.MetricDefinitions applied to the container's output as SageMaker does: each regex's
/// first capture group on each line is the metric's value; the last value per metric is reported in
/// FinalMetricDataList with the time it was seen.
/// </summary>
internal sealed class MetricCollector
{
    private readonly List<(string Name, Regex Regex)> _definitions = [];
    private readonly Dictionary<string, (double Value, DateTimeOffset Time)> _last = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Builds the collector; a regex that does not compile or has no capture group is a ValidationException
    /// naming it (AWS refuses such definitions at CreateTrainingJob too).</summary>
    public MetricCollector(JsonArray? definitions)
    {
        foreach (var definition in definitions?.OfType<JsonObject>() ?? [])
        {
            var name = (string)definition["Name"]!;
            var pattern = (string)definition["Regex"]!;
            Regex regex;
            try
            {
                regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                throw LocalApiException.Validation($"The metric definition '{name}' has an invalid regex '{pattern}': {e.Message}");
            }
            if (regex.GetGroupNumbers().Length < 2)
                throw LocalApiException.Validation($"The metric definition '{name}' regex '{pattern}' must have one capture group for the value.");
            _definitions.Add((name, regex));
        }
    }

    public bool IsEmpty => _definitions.Count == 0;

    public void OnLine(string line)
    {
        foreach (var (name, regex) in _definitions)
        {
            Match match;
            try
            {
                match = regex.Match(line);
            }
            catch (RegexMatchTimeoutException)
            {
                continue;
            }
            if (match.Success && double.TryParse(match.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
                && double.IsFinite(value))
            {
                lock (_gate)
                    _last[name] = (value, DateTimeOffset.UtcNow);
            }
        }
    }

    /// <summary>FinalMetricDataList: one MetricData per metric seen, in definition order.</summary>
    public JsonArray FinalMetrics()
    {
        lock (_gate)
        {
            var list = new JsonArray();
            foreach (var (name, _) in _definitions)
            {
                if (_last.TryGetValue(name, out var last))
                    list.Add(new JsonObject { ["MetricName"] = name, ["Value"] = last.Value, ["Timestamp"] = EpochTime.From(last.Time) });
            }
            return list;
        }
    }
}
