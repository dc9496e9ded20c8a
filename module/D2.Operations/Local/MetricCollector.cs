using System.Text.Json.Nodes;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Local;

/// <summary>A training job's AlgorithmSpecification.MetricDefinitions (request JSON) read from its output with
/// <see cref="MetricCapture"/>, reported as FinalMetricDataList.</summary>
internal sealed class MetricCollector
{
    private readonly MetricCapture _capture;

    /// <summary>A regex that does not compile or has no capture group is a ValidationException naming it (AWS refuses
    /// such definitions at CreateTrainingJob too).</summary>
    public MetricCollector(JsonArray? definitions)
    {
        try
        {
            _capture = new MetricCapture((definitions?.OfType<JsonObject>() ?? [])
                .Select(d => new MetricDefinition((string)d["Name"]!, (string)d["Regex"]!)));
        }
        catch (ArgumentException e)
        {
            throw LocalApiException.Validation(e.Message);
        }
    }

    public bool IsEmpty => _capture.IsEmpty;

    public void OnLine(string line) => _capture.Observe(line, DateTimeOffset.UtcNow);

    /// <summary>FinalMetricDataList: one MetricData per metric seen, in definition order.</summary>
    public JsonArray FinalMetrics() =>
        [.. _capture.Final().Select(m => new JsonObject { ["MetricName"] = m.Name, ["Value"] = m.Value, ["Timestamp"] = EpochTime.From(m.Time) })];
}
