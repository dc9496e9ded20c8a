using Prometheus;

namespace D2.Serving;

/// <summary>What /metrics shows (prometheus-net, Prometheus text format), besides the process's own metrics.</summary>
internal static class ServingMetrics
{
    public static readonly Counter Requests = Metrics.CreateCounter("d2_invocations_total", "Answered /invocations requests, by HTTP status.",
        new CounterConfiguration { LabelNames = ["status"] });

    public static readonly Histogram Latency = Metrics.CreateHistogram("d2_invocation_duration_seconds", "Time from the request's arrival to its answer.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });

    public static readonly Gauge QueueDepth = Metrics.CreateGauge("d2_queue_depth", "Requests admitted and not yet answered (decoding, waiting for the model, running).");

    public static readonly Histogram BatchSize = Metrics.CreateHistogram("d2_batch_size", "Images per forward pass.",
        new HistogramConfiguration { Buckets = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32] });

    public static readonly Histogram ModelSeconds = Metrics.CreateHistogram("d2_model_seconds", "Time of one (batched) forward pass.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.005, 2, 14) });

    public static readonly Counter Rejected = Metrics.CreateCounter("d2_rejected_total", "Requests answered 503 at once because the queue was full (D2_MAX_QUEUE).");

    public static readonly Counter DeadlineExceeded = Metrics.CreateCounter("d2_deadline_exceeded_total", "Requests answered 503 after D2_REQUEST_TIMEOUT_SECONDS.");
}
