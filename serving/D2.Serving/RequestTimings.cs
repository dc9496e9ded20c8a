using System.Globalization;
using System.Text;

namespace D2.Serving;

/// <summary>
/// Where one request's time went, in seconds, for the <c>Server-Timing</c> response header (W3C Server Timing, durations
/// in milliseconds: a client or benchmark sees the breakdown of every answer) and <c>d2_request_stage_seconds</c>.
/// For several images, queue/model/resume are those of the image that finished last.
/// </summary>
internal sealed class RequestTimings
{
    public double Read { get; set; }
    public double Decode { get; set; }
    public double Queue { get; set; }
    public double Model { get; set; }
    public double Resume { get; set; }
    public double Encode { get; set; }
    public int BatchSize { get; set; }

    IEnumerable<(string Stage, double Seconds)> Stages() =>
        [("read", Read), ("decode", Decode), ("queue", Queue), ("model", Model), ("resume", Resume), ("encode", Encode)];

    /// <summary>e.g. <c>read;dur=0.05, decode;dur=1.2, queue;dur=0.01, model;dur=180.3, resume;dur=0.02, encode;dur=3.1, batch;desc="1"</c>.</summary>
    public string ToServerTiming()
    {
        var text = new StringBuilder();
        foreach (var (stage, seconds) in Stages())
            text.Append(CultureInfo.InvariantCulture, $"{stage};dur={seconds * 1000:0.###}, ");
        text.Append(CultureInfo.InvariantCulture, $"batch;desc=\"{BatchSize}\"");
        return text.ToString();
    }

    /// <param name="writeSeconds">writing the answer (after the header went out)</param>
    public void Observe(double writeSeconds)
    {
        foreach (var (stage, seconds) in Stages())
            ServingMetrics.StageSeconds.WithLabels(stage).Observe(seconds);
        ServingMetrics.StageSeconds.WithLabels("write").Observe(writeSeconds);
    }
}
