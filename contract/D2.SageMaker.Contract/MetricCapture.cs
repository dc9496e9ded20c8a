using System.Globalization;
using System.Text.RegularExpressions;

namespace D2.SageMaker.Contract;

/// <summary>
/// SageMaker's reading of MetricDefinitions from a container's log: on every line, each regex's first match gives the
/// metric's value in its capture group; the last finite value per metric is the final one. The one implementation
/// behind the local SageMaker's FinalMetricDataList and <see cref="TrainerMetrics.FinalValues"/>. Thread-safe.
/// </summary>
public sealed class MetricCapture
{
    private readonly List<(string Name, Regex Regex)> _definitions = [];
    private readonly Dictionary<string, (double Value, DateTimeOffset Time)> _last = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <exception cref="ArgumentException">a regex does not compile or has no capture group; the message names the metric</exception>
    public MetricCapture(IEnumerable<MetricDefinition> definitions)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        foreach (var (name, pattern) in definitions)
        {
            Regex regex;
            try
            {
                regex = new Regex(pattern, RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"The metric definition '{name}' has an invalid regex '{pattern}': {e.Message}", e);
            }
            if (regex.GetGroupNumbers().Length < 2)
                throw new ArgumentException($"The metric definition '{name}' regex '{pattern}' must have one capture group for the value.");
            _definitions.Add((name, regex));
        }
    }

    public bool IsEmpty => _definitions.Count == 0;

    public void Observe(string line, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(line);
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
                    _last[name] = (value, time);
            }
        }
    }

    /// <summary>The last value of every metric seen, in definition order.</summary>
    public IReadOnlyList<(string Name, double Value, DateTimeOffset Time)> Final()
    {
        lock (_gate)
            return [.. _definitions.Where(d => _last.ContainsKey(d.Name)).Select(d => (d.Name, _last[d.Name].Value, _last[d.Name].Time))];
    }
}
