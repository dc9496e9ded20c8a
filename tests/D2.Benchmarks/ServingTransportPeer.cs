using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace D2.Benchmarks;

/// <summary>
/// `serving-peer PORT ANSWER_BYTES GAP_MS`: the serving bench's transport peer, a bare ASP.NET Core app with D2.Serving's
/// request shape and none of its work. POST /invocations reads the body, queues the request to a dedicated thread that
/// sleeps GAP_MS (standing in for the model thread and its forward pass, so the client's and the server's threads go as
/// idle as they do around a real pass), resumes on the thread pool and writes ANSWER_BYTES with Content-Length; its
/// Server-Timing carries the sleep as `model`, so the hops to and from that thread count as overhead, as in D2.Serving. What a served request costs beyond that is the floor of any
/// HTTP server on this machine and client, measured in the same run.
/// </summary>
internal static class ServingTransportPeer
{
    public static int Run(string[] args)
    {
        var port = int.Parse(args[1], CultureInfo.InvariantCulture);
        var answer = new byte[int.Parse(args[2], CultureInfo.InvariantCulture)];
        Array.Fill(answer, (byte)' ');
        var gap = TimeSpan.FromMilliseconds(double.Parse(args[3], CultureInfo.InvariantCulture));
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        // The stand-in for D2.Serving's model thread: one dedicated thread takes requests from a queue, "runs" for the gap,
        // and completes them; the queue and resume hops are the server's, as in D2.Serving.
        using var queue = new System.Collections.Concurrent.BlockingCollection<TaskCompletionSource<double>>();
        new Thread(() =>
        {
            foreach (var request in queue.GetConsumingEnumerable())
            {
                var start = Stopwatch.GetTimestamp();
                Thread.Sleep(gap);
                request.SetResult(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }) { IsBackground = true, Name = "peer model" }.Start();
        app.MapGet("/ping", () => Results.Ok());
        app.MapPost("/invocations", async (HttpContext context) =>
        {
            using (var body = new MemoryStream())
                await context.Request.Body.CopyToAsync(body);
            var done = new TaskCompletionSource<double>(TaskCreationOptions.RunContinuationsAsynchronously);
            queue.Add(done);
            var modelMs = await done.Task;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = answer.Length;
            context.Response.Headers["Server-Timing"] = $"model;dur={modelMs.ToString("0.###", CultureInfo.InvariantCulture)}";
            await context.Response.Body.WriteAsync(answer);
        });
        app.Run();
        return 0;
    }
}
