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

ServingOptions options;
Predictor predictor;
try
{
    options = ServingOptions.FromEnvironment();
    _ = ImageDecoder.MaxImagePixels; // a bad D2_MAX_IMAGE_PIXELS stops the start, not the first request
    // Loaded and warmed up before the port opens: /ping answers only once predictions are fast.
    predictor = Predictor.FromModelDirectory(options.ModelDirectory, options.Device,
        cpuFallbackNote: note => Console.Error.WriteLine($"D2.Serving: {note}"));
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
// SIGTERM (docker stop, endpoint updates): stop accepting, let in-flight requests finish for up to 30 s, exit 0.
builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(30));
var app = builder.Build();

app.MapGet("/ping", () => Results.Ok());
app.MapPost("/invocations", (HttpContext context, Invocations invocations) => invocations.HandleAsync(context));
// Prometheus text: requests by status, latency, queue depth, batch sizes, model time (ServingMetrics), process metrics.
app.MapMetrics("/metrics");
// Batch transform asks for these before the first record.
app.MapGet("/execution-parameters", () => Results.Json(new Dictionary<string, object>
{
    ["MaxConcurrentTransforms"] = options.Workers,
    // application/jsonlines bodies carry several records, answered one line each.
    ["BatchStrategy"] = "MULTI_RECORD",
    ["MaxPayloadInMB"] = options.MaxPayloadMegabytes,
}));
app.Lifetime.ApplicationStopped.Register(() =>
{
    // After Kestrel has drained: the batcher finishes what it holds, then the model goes.
    app.Services.GetRequiredService<ModelBatcher>().DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(5));
    predictor.Dispose();
});

app.Logger.LogInformation("Serving {Model} ({Classes} classes) on {Host}:{Port}", options.ModelDirectory, predictor.ClassNames.Count, options.Host, options.Port);
await app.RunAsync();
return 0;
