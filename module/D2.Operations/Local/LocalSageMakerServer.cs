using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace D2.Operations.Local;

/// <summary>
/// The local SageMaker: a Kestrel server that speaks SageMaker's wire protocols (JSON 1.1 control plane on
/// <c>POST /</c>, SageMaker Runtime's <c>POST /endpoints/{name}/invocations</c>, STS GetCallerIdentity), runs training
/// jobs and endpoints as local processes over <c>opt/ml</c> trees under <see cref="LocalSageMakerOptions.Root"/>, and
/// accepts any SigV4 signature. Point an AWS client or <c>aws --endpoint-url</c> at <see cref="BaseUrl"/>.
/// </summary>
/// <example><code>
/// await using var server = await LocalSageMakerServer.StartAsync(new LocalSageMakerOptions { TrainingCommand = ["dotnet", "/opt/d2/d2.dll"] });
/// Console.WriteLine(server.BaseUrl); // http://127.0.0.1:PORT/
/// </code></example>
public sealed class LocalSageMakerServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly LocalContext _context;
    private readonly TrainingJobsApi _trainingJobs;
    private readonly EndpointLifecycle _endpointLifecycle;
    private readonly SageMakerApi _sageMaker;
    private readonly RuntimeApi _runtime;
    private readonly HttpClient _http;
    private int _stopped;
    private long _requestCount;

    private LocalSageMakerServer(WebApplication app, LocalContext context, HttpClient http)
    {
        _app = app;
        _context = context;
        _http = http;
        _trainingJobs = new TrainingJobsApi(context);
        var models = new ResourceTable(context.Store, "models", "model", context.Arns.Model);
        var configs = new ResourceTable(context.Store, "endpoint-configs", "endpoint configuration", context.Arns.EndpointConfig);
        var endpoints = new EndpointTable(context);
        _endpointLifecycle = new EndpointLifecycle(context, endpoints, models, configs, http);
        _sageMaker = new SageMakerApi(context, _trainingJobs, models, configs, endpoints, new EndpointsApi(context, endpoints, _endpointLifecycle));
        _runtime = new RuntimeApi(context, new VariantRouter(context, endpoints), http);
    }

    /// <summary>The server's address, e.g. <c>http://127.0.0.1:40123/</c>: the --endpoint-url of SageMaker, SageMaker Runtime and STS.</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Requests received so far (any API): lets tests prove that a -WhatIf or a rejected request sent nothing.</summary>
    public long RequestCount => Interlocked.Read(ref _requestCount);

    /// <summary>The folder holding state, training-jobs/ and endpoints/.</summary>
    public string Root => _context.Root;

    /// <summary>Loads the state under the root (jobs left running become Failed, live endpoints are redeployed),
    /// binds Kestrel and returns once it is listening.</summary>
    public static async Task<LocalSageMakerServer> StartAsync(LocalSageMakerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var address = options.Host is "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(options.Host, out var parsed) ? parsed
            : throw new ArgumentException($"Host '{options.Host}' is not an IP address (use 127.0.0.1, ::1 or 0.0.0.0).", nameof(options));
        Directory.CreateDirectory(options.Root);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Path.GetFullPath(options.Root) });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(address, options.Port);
            kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
        });
        var app = builder.Build();
        var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionIdleTimeout = TimeSpan.FromSeconds(10) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var server = new LocalSageMakerServer(app, new LocalContext(options), http);
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        var bound = app.Services.GetService(typeof(IServer)) is IServer kestrelServer
            ? kestrelServer.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            : null;
        var port = bound is not null ? new Uri(bound).Port : options.Port;
        var hostText = address.Equals(IPAddress.Any) ? "127.0.0.1" : address.Equals(IPAddress.IPv6Any) ? "[::1]"
            : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        server.BaseUrl = new Uri($"http://{hostText}:{port}/");
        server._context.Log($"listening on {server.BaseUrl} (root {server.Root})");
        server._endpointLifecycle.Resume();
        return server;
    }

    /// <summary>Graceful stop: running training jobs get SIGTERM (and are packed as Stopped), serving processes are
    /// stopped, then Kestrel stops. Endpoint records stay, so the next server on this root redeploys them.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
            return;
        await _trainingJobs.StopAllAsync(_context.Options.TrainingStopGracePeriod).WaitAsync(cancellationToken).ConfigureAwait(false);
        await _context.Shutdown.CancelAsync().ConfigureAwait(false);
        await _endpointLifecycle.StopAllAsync().ConfigureAwait(false);
        await _app.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        // The shutdown token source stays undisposed: background runs may still read its token while they wind down.
        _http.Dispose();
    }

    private async Task HandleAsync(HttpContext http)
    {
        Interlocked.Increment(ref _requestCount);
        var requestId = Guid.NewGuid().ToString();
        http.Response.Headers["x-amzn-RequestId"] = requestId;
        var path = http.Request.Path.Value ?? "/";
        try
        {
            if (HttpMethods.IsPost(http.Request.Method) && path.StartsWith("/endpoints/", StringComparison.Ordinal)
                && path.EndsWith("/invocations", StringComparison.Ordinal))
            {
                var name = Uri.UnescapeDataString(path["/endpoints/".Length..^"/invocations".Length]);
                await _runtime.InvokeAsync(http, name).ConfigureAwait(false);
                return;
            }
            if (!HttpMethods.IsPost(http.Request.Method) || path != "/")
            {
                await WireResponses.WriteErrorAsync(http, new LocalApiException("UnknownOperationException",
                    $"The local SageMaker answers POST / (SageMaker JSON 1.1, STS) and POST /endpoints/{{name}}/invocations, not {http.Request.Method} {path}.",
                    HttpStatusCode.NotFound)).ConfigureAwait(false);
                return;
            }
            if (StsApi.IsStsRequest(http.Request))
            {
                await StsApi.HandleAsync(http, _context.Arns.AccountId, requestId).ConfigureAwait(false);
                return;
            }
            await HandleJsonAsync(http).ConfigureAwait(false);
        }
        catch (LocalApiException error)
        {
            await WireResponses.WriteErrorAsync(http, error, path == "/" ? WireResponses.AmzJson : "application/json").ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
        {
            _context.Log($"internal error on {http.Request.Method} {path}: {error}");
            await WireResponses.WriteErrorAsync(http, new LocalApiException("InternalFailure", $"The local SageMaker failed: {error.Message}",
                HttpStatusCode.InternalServerError)).ConfigureAwait(false);
        }
    }

    private async Task HandleJsonAsync(HttpContext http)
    {
        var target = http.Request.Headers["X-Amz-Target"].ToString();
        const string prefix = "SageMaker.";
        if (!target.StartsWith(prefix, StringComparison.Ordinal))
            throw new LocalApiException("UnknownOperationException",
                target.Length == 0 ? "Missing X-Amz-Target header." : $"The local SageMaker does not implement {target}.");
        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            // An empty body (no input) reads as {}.
            if (http.Request.ContentLength is 0 || e.BytePositionInLine == 0 && e.LineNumber == 0)
                body = null;
            else
                throw new LocalApiException("SerializationException", $"The request body is not valid JSON: {e.Message}");
        }
        var response = _sageMaker.Invoke(target[prefix.Length..], body);
        await WireResponses.WriteJsonAsync(http, response).ConfigureAwait(false);
    }
}
