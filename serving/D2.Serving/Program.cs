using D2.Detection.Config;
using D2.Detection.Data;
using D2.Detection.Inference;
using D2.Serving;
using Prometheus;

// SageMaker starts the hosting container as `docker run IMAGE serve`; the argument is optional here.
if (args.Length > 1 || (args.Length == 1 && args[0] != "serve"))
{
    Console.Error.WriteLine("usage: D2.Serving [serve]   (settings come from SageMaker's environment: SAGEMAKER_BIND_TO_PORT, SAGEMAKER_BASE_DIR, ...)");
    return 64;
}

// Before libtorch allocates or logs anything: the allocator keeps each pass's memory for the next (NativeAllocator), and
// libtorch's C++ warnings follow TORCH_CPP_LOG_LEVEL (ERROR when unset) instead of one NNPACK line per conv (TorchLogging).
var allocator = D2.Detection.NativeAllocator.KeepFreedMemory();
var torchLogLevel = D2.Detection.TorchLogging.Initialize() ?? "libtorch's default";
ServingOptions options;
Predictor predictor;
try
{
    options = ServingOptions.FromEnvironment();
    _ = ImageDecoder.MaxImagePixels; // a bad D2_MAX_IMAGE_PIXELS stops the start, not the first request
    // Loaded and warmed up before the port opens: /ping answers only once predictions are fast.
    // The warm-up runs on the model thread (ModelBatcher), whose libtorch state is what later passes use.
    predictor = Predictor.FromModelDirectory(options.ModelDirectory, options.Device, warmUp: false,
        cpuFallbackNote: note => Console.Error.WriteLine($"D2.Serving: {note}"));
    // With batching on, an image's answer must not depend on the batch it lands in (bit for bit on the CPU).
    predictor.BatchInvariant = options.MaxBatchSize > 1;
}
catch (Exception e) when (e is ModelArtifactException or ConfigException or ArgumentException or InvalidOperationException)
{
    Console.Error.WriteLine($"D2.Serving: cannot serve: {e.Message}");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder();
// One line per prediction from us; ASP.NET's per-request lines would drown it.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.WebHost.UseUrls($"http://{options.Host}:{options.Port}");
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = options.MaxPayloadMegabytes * 1024L * 1024L + 1);
builder.Services.AddSingleton(options);
builder.Services.AddSingleton(predictor);
builder.Services.AddSingleton<ModelBatcher>();
builder.Services.AddSingleton<Invocations>();
// SIGTERM (docker stop, endpoint updates): stop accepting, let in-flight requests run for D2_DRAIN_SECONDS, then they
// answer 503 (ShutdownDrain); the host waits a little longer for those answers, still inside the 30 s before SIGKILL.
builder.Services.AddSingleton<ShutdownDrain>();
builder.Services.Configure<HostOptions>(host =>
    host.ShutdownTimeout = TimeSpan.FromSeconds(Math.Min(options.DrainSeconds + 4, ServingOptions.StopGraceSeconds - 0.5)));
var app = builder.Build();
// Created (and warmed up on its thread) before the port opens.
ModelBatcher batcher;
try
{
    batcher = app.Services.GetRequiredService<ModelBatcher>();
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"D2.Serving: cannot serve: {e.Message}");
    return 2;
}

app.MapGet("/ping", () => Results.Ok());
app.MapPost("/invocations", (HttpContext context, Invocations invocations) => invocations.HandleAsync(context));
// Prometheus text: requests by status, latency, queue depth, batch sizes, model time (ServingMetrics), process metrics.
app.MapMetrics("/metrics");
// Batch transform asks for these before the first record (CreateTransformJob's own values, passed as SAGEMAKER_* variables,
// take precedence; echoing them keeps both views the same).
app.MapGet("/execution-parameters", () => Results.Json(new Dictionary<string, object>
{
    ["MaxConcurrentTransforms"] = options.MaxConcurrentTransforms ?? options.Workers,
    // MULTI_RECORD: application/jsonlines bodies carry several records, answered one line each.
    ["BatchStrategy"] = options.BatchStrategy == BatchStrategy.SingleRecord ? "SINGLE_RECORD" : "MULTI_RECORD",
    ["MaxPayloadInMB"] = options.MaxPayloadMegabytes,
}));
app.Lifetime.ApplicationStopped.Register(() =>
{
    // After Kestrel has drained: the batcher finishes what it holds, then the model goes (never under a pass still
    // running: the process is exiting anyway).
    if (batcher.Complete(TimeSpan.FromSeconds(2)))
        predictor.Dispose();
});

app.Logger.LogInformation("Serving {Model} ({Classes} classes) on {Host}:{Port}; libtorch intra-op threads {Threads} (OMP_NUM_THREADS), D2_MAX_BATCH_SIZE {Batch}; {Allocator}; TORCH_CPP_LOG_LEVEL {LogLevel}",
    options.ModelDirectory, predictor.ClassNames.Count, options.Host, options.Port, TorchSharp.torch.get_num_threads(), options.MaxBatchSize, allocator, torchLogLevel);
await app.RunAsync();
return 0;
