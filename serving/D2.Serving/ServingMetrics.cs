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

    public static readonly Histogram StageSeconds = Metrics.CreateHistogram("d2_request_stage_seconds",
        "Where an answered request's time went: read (the body), decode (decode and resize), queue (waiting for the model), " +
        "model (its forward pass), resume (from the pass's end to the request's continuation), encode (JSON or PNG), write (the answer).",
        new HistogramConfiguration { LabelNames = ["stage"], Buckets = Histogram.ExponentialBuckets(0.0001, 2, 20) });

    public static readonly Counter ModelStages = Metrics.CreateCounter("d2_model_stages_total",
        "Model stages run (preprocess, backbone, proposal_generator, box_head, mask_head, postprocess), per forward pass.",
        new CounterConfiguration { LabelNames = ["stage"] });

    public static readonly Counter ModelCancelled = Metrics.CreateCounter("d2_model_cancelled_total",
        "Forward passes stopped between stages because every request in them gave up, by the last stage that ran.",
        new CounterConfiguration { LabelNames = ["after_stage"] });

    public static readonly Counter QueuedImages = Metrics.CreateCounter("d2_queued_images_total",
        "Images handed to the model thread (each ends in d2_batch_size_sum, d2_model_cancelled_images_total or d2_dropped_images_total).");

    public static readonly Counter ModelCancelledImages = Metrics.CreateCounter("d2_model_cancelled_images_total",
        "Images in forward passes that stopped between stages (d2_model_cancelled_total).");

    public static readonly Counter Dropped = Metrics.CreateCounter("d2_dropped_images_total",
        "Queued images dropped before their forward pass because their request gave up (deadline, client gone).");

    public static readonly Gauge TorchThreads = Metrics.CreateGauge("d2_torch_threads", "libtorch's intra-op threads (torch.get_num_threads) in the model thread.");

    /// <summary>The label a stage has in the metrics (snake case, as Detectron2 names the modules).</summary>
    public static string Label(D2.Detection.Modeling.InferenceStage stage) => stage switch
    {
        D2.Detection.Modeling.InferenceStage.Preprocess => "preprocess",
        D2.Detection.Modeling.InferenceStage.Backbone => "backbone",
        D2.Detection.Modeling.InferenceStage.ProposalGenerator => "proposal_generator",
        D2.Detection.Modeling.InferenceStage.BoxHead => "box_head",
        D2.Detection.Modeling.InferenceStage.MaskHead => "mask_head",
        _ => "postprocess",
    };
}
