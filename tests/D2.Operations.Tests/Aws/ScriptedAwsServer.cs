using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace D2.Operations.Tests.Aws;

/// <summary>A Kestrel server on 127.0.0.1:0 that records each request and answers from a script (default 200 "{}").</summary>
internal sealed class ScriptedAwsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ScriptedAnswer> _script = new();

    private ScriptedAwsServer(WebApplication app) => _app = app;

    public Uri Url { get; private set; } = null!;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public static async Task<ScriptedAwsServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new ScriptedAwsServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = new Uri(address + "/");
        return server;
    }

    public void Enqueue(int status, string body, params (string Name, string Value)[] headers) =>
        _script.Enqueue(new ScriptedAnswer(status, Encoding.UTF8.GetBytes(body), headers));

    public void Enqueue(int status, byte[] body, params (string Name, string Value)[] headers) =>
        _script.Enqueue(new ScriptedAnswer(status, body, headers));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        Requests.Enqueue(new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString, headers, buffer.ToArray()));

        var answer = _script.TryDequeue(out var next) ? next : new ScriptedAnswer(200, "{}"u8.ToArray(), []);
        context.Response.StatusCode = answer.Status;
        foreach (var (name, value) in answer.Headers)
        {
            context.Response.Headers[name] = value;
        }

        context.Response.Headers["x-amzn-RequestId"] = context.Response.Headers.TryGetValue("x-amzn-RequestId", out var id) && id.Count > 0
            ? id.ToString()
            : "req-" + Requests.Count;
        await context.Response.Body.WriteAsync(answer.Body);
    }

    private sealed record ScriptedAnswer(int Status, byte[] Body, (string Name, string Value)[] Headers);
}

internal sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}
