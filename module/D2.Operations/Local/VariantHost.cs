using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>
/// One production variant's serving process, as SageMaker runs a hosting container: the model artifact extracted
/// into <c>opt/ml/model</c>, <c>{command} serve</c> started with SAGEMAKER_BIND_TO_PORT on a free loopback port, ready
/// once GET /ping answers 200.
/// </summary>
internal sealed class VariantHost : IAsyncDisposable
{
    private readonly LocalContext _context;
    private readonly LocalProcess _process;

    private VariantHost(LocalContext context, string variantName, string image, string folder, int port, LocalProcess process)
    {
        _context = context;
        VariantName = variantName;
        Image = image;
        Folder = folder;
        Port = port;
        _process = process;
    }

    /// <summary>Raised when the variant cannot be brought up; the message is the endpoint's FailureReason.</summary>
    public sealed class StartFailure(string reason) : Exception(reason);

    public string VariantName { get; }
    public string Image { get; }
    public string Folder { get; }
    public int Port { get; }
    public int ProcessId => _process.Id;
    public DateTimeOffset ProcessStart => _process.StartTime;
    public string LogPath => _process.LogPath;
    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    /// <summary>Stages the model, starts the process and waits for a healthy /ping.</summary>
    public static async Task<VariantHost> StartAsync(LocalContext context, HttpClient http, string endpointName, string deployment,
        JsonObject variant, JsonObject model, CancellationToken cancellationToken)
    {
        var variantName = (string)variant["VariantName"]!;
        var container = model["PrimaryContainer"] as JsonObject
            ?? (model["Containers"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault()
            ?? throw new StartFailure($"The model '{model["ModelName"]}' of production variant {variantName} has no container.");
        var image = (string?)container["Image"] ?? "";
        var folder = Path.Combine(context.Root, "endpoints", endpointName, $"{variantName}-{deployment}");
        var optMl = Path.Combine(folder, "opt", "ml");
        var modelDir = SageMakerPaths.Under(optMl).ModelDirectory;
        try
        {
            Directory.CreateDirectory(modelDir);
            if ((string?)container["ModelDataUrl"] is { } url)
            {
                var source = FileUris.ToLocalPath(url, "ModelDataUrl");
                if (!File.Exists(source) && !Directory.Exists(source))
                    throw new StartFailure($"Failed to download model data for container \"primary\" of production variant {variantName}: '{source}' does not exist.");
                LocalFiles.ExtractModel(source, modelDir);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or LocalApiException)
        {
            throw new StartFailure($"Failed to extract model data for production variant {variantName}: {e.Message}");
        }

        var port = FreeLoopbackPort();
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [SageMakerEnvironment.BindToPort] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [SageMakerEnvironment.BaseDirectory] = optMl,
            // Containers listen on every interface; on a laptop the model server stays on loopback.
            ["D2_SERVING_HOST"] = "127.0.0.1",
            [SageMakerEnvironment.AwsRegion] = context.Options.Region,
            [SageMakerEnvironment.Region] = context.Options.Region,
        };
        foreach (var (key, value) in container["Environment"] as JsonObject ?? [])
            environment[key] = (string)value!;
        IReadOnlyList<string> command = context.Options.ServingCommandsByImage.TryGetValue(image, out var mapped) ? mapped : context.Options.ServingCommand;
        LocalProcess process;
        try
        {
            process = LocalProcess.Start([.. command, "serve"], folder, environment, Path.Combine(folder, "logs", "serve.log"), null,
                context.Options.Log, $"[{endpointName}/{variantName}] ");
        }
        catch (InvalidOperationException e)
        {
            throw new StartFailure($"The primary container for production variant {variantName} could not be started: {e.Message}");
        }
        context.Log($"endpoint {endpointName}: variant {variantName} started '{string.Join(' ', command)} serve' on port {port} (log: {process.LogPath})");

        var host = new VariantHost(context, variantName, image, folder, port, process);
        var timeout = (int?)variant["ContainerStartupHealthCheckTimeoutInSeconds"] is int seconds
            ? TimeSpan.FromSeconds(seconds) : context.Options.ServingStartupTimeout;
        try
        {
            await host.WaitHealthyAsync(http, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return host;
    }

    /// <summary>Forwards an invocation to the process's POST /invocations.</summary>
    public Task<HttpResponseMessage> InvokeAsync(HttpClient http, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.RequestUri = new Uri(BaseUri, "invocations");
        return http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
    }

    public string LogTail(int maxChars) => _process.Tail(maxChars);

    private async Task WaitHealthyAsync(HttpClient http, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                var code = await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
                throw new StartFailure(Reason($"The serving process exited with code {code} before passing the ping health check."));
            }
            using (var ping = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(ping.Token, cancellationToken))
            {
                try
                {
                    using var response = await http.GetAsync(new Uri(BaseUri, "ping"), linked.Token).ConfigureAwait(false);
                    if (response.StatusCode == HttpStatusCode.OK)
                        return;
                }
                catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    // Not listening yet, or slow to answer: keep polling until the start-up window closes.
                }
            }
            if (DateTime.UtcNow >= deadline)
                throw new StartFailure(Reason($"It did not answer GET /ping with 200 within {timeout.TotalSeconds:0} seconds."));
            await Task.Delay(200, cancellationToken).ConfigureAwait(false);
        }
    }

    private string Reason(string detail)
    {
        var reason = $"The primary container for production variant {VariantName} did not pass the ping health check. {detail} " +
            $"Log {LogPath}; last lines: {_process.Tail(600)}";
        return reason.Length <= 1024 ? reason : reason[..1024];
    }

    /// <summary>SIGTERM, then SIGKILL after the serving grace period.</summary>
    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync(_context.Options.ServingStopGracePeriod).ConfigureAwait(false);
        try
        {
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
