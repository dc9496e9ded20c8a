using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace D2.Trainer.Tests.Weights;

/// <summary>
/// The model zoo on 127.0.0.1:0 (Kestrel): serves files by URL path with Range support; <see cref="CutNextAfter"/> makes
/// the next full response stop after that many bytes (Content-Length still the whole file) and drop the connection.
/// </summary>
internal sealed class ModelZooServer : IAsyncDisposable
{
    readonly WebApplication _app;
    readonly Dictionary<string, byte[]> _files;

    ModelZooServer(WebApplication app, Dictionary<string, byte[]> files) => (_app, _files) = (app, files);

    public Uri Url { get; private set; } = null!;

    /// <summary>"path range" per request, e.g. "/detectron2/ImageNetPretrained/MSRA/R-50.pkl bytes=300000-".</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public long? CutNextAfter { get; set; }

    public static async Task<ModelZooServer> StartAsync(Dictionary<string, byte[]> files)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new ModelZooServer(app, files);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        return server;
    }

    async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        Requests.Enqueue($"{path} {context.Request.Headers.Range}".TrimEnd());
        if (!_files.TryGetValue(path, out var data))
        {
            context.Response.StatusCode = 404;
            return;
        }
        if (CutNextAfter is { } cut && string.IsNullOrEmpty(context.Request.Headers.Range))
        {
            CutNextAfter = null;
            context.Response.ContentLength = data.Length;
            await context.Response.Body.WriteAsync(data.AsMemory(0, (int)cut));
            await context.Response.Body.FlushAsync();
            // An abort (RST) discards whatever the client has not read yet, so give it time to read what was sent;
            // the test still accepts any resume offset up to the cut, since the client resumes from what it holds.
            await Task.Delay(500);
            context.Abort();
            return;
        }
        await Results.Bytes(data, "application/octet-stream", enableRangeProcessing: true).ExecuteAsync(context);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
