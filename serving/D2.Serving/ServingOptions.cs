using System.Globalization;
using D2.SageMaker.Contract;

namespace D2.Serving;

/// <summary>
/// The hosting container's settings, from SageMaker's environment: the port (SAGEMAKER_BIND_TO_PORT, else 8080), the
/// model folder (/opt/ml/model, moved with SAGEMAKER_BASE_DIR as the trainer does, or SM_MODEL_DIR), requests
/// decoded and resized at once (SAGEMAKER_MODEL_SERVER_WORKERS, default 1; the model runs one batched forward pass at a time), the default
/// response type (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT) and the largest request (SAGEMAKER_MAX_PAYLOAD_IN_MB, default 6).
/// D2_SERVING_HOST binds another address than every interface (the local SageMaker keeps it on loopback) and
/// D2_DEVICE overrides MODEL.DEVICE. D2_OVERLAY_SCORE_THRESHOLD (default 0.5, Detectron2's demo) is the lowest score the
/// image/png overlay draws; the JSON keeps every instance the model returns (SCORE_THRESH_TEST), as DefaultPredictor.
/// Limits: D2_MAX_QUEUE (default 100, TorchServe's job_queue_size) requests admitted at once, the next gets 503 with
/// Retry-After at once; D2_REQUEST_TIMEOUT_SECONDS (default 55, below SageMaker's 60 s) per request, then 503;
/// D2_MAX_BATCH_SIZE (default 1: no batching, as SAGEMAKER_TS_BATCH_SIZE) images per forward pass, collected for at
/// most D2_MAX_BATCH_DELAY_MS (default 5); D2_MAX_IMAGE_PIXELS (PIL's 89,478,485) per image, checked from the header.
/// Batch transform (SageMaker sets these from CreateTransformJob, which takes precedence over /execution-parameters):
/// SAGEMAKER_BATCH_STRATEGY (SINGLE_RECORD: one jsonlines record per request; MULTI_RECORD, the default: several) and
/// SAGEMAKER_MAX_CONCURRENT_TRANSFORMS (requests the platform sends at once; D2_MAX_QUEUE is raised to it, so the
/// platform's own requests are never refused).
/// SIGTERM: in-flight requests run on for D2_DRAIN_SECONDS (default 25, at most 29: SIGKILL follows SIGTERM after 30 s),
/// then the ones still running answer 503 and the process exits 0.
/// </summary>
internal sealed record ServingOptions
{
    public string Host { get; init; } = "0.0.0.0";
    public int Port { get; init; } = 8080;
    public required string ModelDirectory { get; init; }
    public int Workers { get; init; } = 1;
    public string DefaultAccept { get; init; } = "application/json";
    public int MaxPayloadMegabytes { get; init; } = 6;
    public string? Device { get; init; }
    public double OverlayScoreThreshold { get; init; } = 0.5;
    public int MaxQueue { get; init; } = 100;
    public double RequestTimeoutSeconds { get; init; } = 55;
    public int MaxBatchSize { get; init; } = 1;
    public int MaxBatchDelayMilliseconds { get; init; } = 5;
    public long MaxImagePixels { get; init; } = D2.Detection.Data.ImageDecoder.DefaultMaxImagePixels;
    public BatchStrategy BatchStrategy { get; init; } = BatchStrategy.MultiRecord;
    /// <summary>SAGEMAKER_MAX_CONCURRENT_TRANSFORMS when set; /execution-parameters otherwise proposes <see cref="Workers"/>.</summary>
    public int? MaxConcurrentTransforms { get; init; }
    /// <summary>After SIGTERM, how long in-flight requests may still run before they answer 503.</summary>
    public double DrainSeconds { get; init; } = DefaultDrainSeconds;

    public const double DefaultDrainSeconds = 25;

    /// <summary>docker stop and SageMaker send SIGKILL this long after SIGTERM.</summary>
    public const double StopGraceSeconds = 30;

    /// <exception cref="ArgumentException">a variable is set to something that is not a valid value; the message names it</exception>
    public static ServingOptions FromEnvironment(Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string? Get(string name) => environment(name) is { Length: > 0 } value ? value.Trim() : null;
        int Positive(string name, int fallback) => Get(name) is not { } text ? fallback
            : int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0 ? value
            : throw new ArgumentException($"{name} must be a positive integer, not '{text}'.");

        var port = Positive(SageMakerEnvironment.BindToPort, 8080);
        if (port > 65535)
            throw new ArgumentException($"{SageMakerEnvironment.BindToPort} must be a TCP port, not {port}.");
        var concurrentTransforms = Get(SageMakerEnvironment.MaxConcurrentTransforms) is null ? (int?)null : Positive(SageMakerEnvironment.MaxConcurrentTransforms, 1);
        return new ServingOptions
        {
            Host = Get("D2_SERVING_HOST") ?? "0.0.0.0",
            Port = port,
            // /opt/ml/model, moved by SAGEMAKER_BASE_DIR or SM_MODEL_DIR exactly as for the trainer.
            ModelDirectory = SageMakerPaths.FromEnvironment(name => Get(name)).ModelDirectory,
            Workers = Positive(SageMakerEnvironment.ModelServerWorkers, 1),
            DefaultAccept = Get(SageMakerEnvironment.DefaultInvocationsAccept) ?? "application/json",
            MaxPayloadMegabytes = Positive(SageMakerEnvironment.MaxPayloadInMB, 6),
            Device = Get("D2_DEVICE"),
            OverlayScoreThreshold = Get("D2_OVERLAY_SCORE_THRESHOLD") is not { } threshold ? 0.5
                : double.TryParse(threshold, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 1 ? value
                : throw new ArgumentException($"D2_OVERLAY_SCORE_THRESHOLD must be a number from 0 to 1, not '{threshold}'."),
            // The platform sends at most MaxConcurrentTransforms at once; refusing them would fail the transform job.
            MaxQueue = Math.Max(Positive("D2_MAX_QUEUE", 100), concurrentTransforms ?? 1),
            MaxConcurrentTransforms = concurrentTransforms,
            BatchStrategy = Get(SageMakerEnvironment.BatchStrategy)?.ToUpperInvariant() switch
            {
                null or "MULTI_RECORD" or "MULTIRECORD" => BatchStrategy.MultiRecord,
                "SINGLE_RECORD" or "SINGLERECORD" => BatchStrategy.SingleRecord,
                _ => throw new ArgumentException($"{SageMakerEnvironment.BatchStrategy} must be SINGLE_RECORD or MULTI_RECORD, not '{Get(SageMakerEnvironment.BatchStrategy)}'."),
            },
            RequestTimeoutSeconds = Get("D2_REQUEST_TIMEOUT_SECONDS") is not { } timeout ? 55
                : double.TryParse(timeout, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds is > 0 and <= 3600 ? seconds
                : throw new ArgumentException($"D2_REQUEST_TIMEOUT_SECONDS must be a number of seconds above 0 (at most 3600), not '{timeout}'."),
            MaxBatchSize = Positive("D2_MAX_BATCH_SIZE", 1),
            MaxBatchDelayMilliseconds = Get("D2_MAX_BATCH_DELAY_MS") is not { } delay ? 5
                : int.TryParse(delay, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) && ms >= 0 ? ms
                : throw new ArgumentException($"D2_MAX_BATCH_DELAY_MS must be a non-negative integer, not '{delay}'."),
            MaxImagePixels = D2.Detection.Data.ImageDecoder.ReadMaxImagePixels(Get("D2_MAX_IMAGE_PIXELS")),
            // The 503s of the requests still running, the model's last stage and the exit must fit before the SIGKILL.
            DrainSeconds = Get("D2_DRAIN_SECONDS") is not { } drain ? DefaultDrainSeconds
                : double.TryParse(drain, NumberStyles.Float, CultureInfo.InvariantCulture, out var drainSeconds) && drainSeconds is >= 0 and <= StopGraceSeconds - 1 ? drainSeconds
                : throw new ArgumentException($"D2_DRAIN_SECONDS must be a number of seconds from 0 to {StopGraceSeconds - 1} (SIGKILL follows SIGTERM after {StopGraceSeconds} s), not '{drain}'."),
        };
    }
}

/// <summary>Batch transform's BatchStrategy: how many records one request carries.</summary>
internal enum BatchStrategy
{
    /// <summary>SINGLE_RECORD: one record per request.</summary>
    SingleRecord,
    /// <summary>MULTI_RECORD: as many records as fit in MaxPayloadInMB (application/jsonlines, one per line).</summary>
    MultiRecord,
}
