using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace D2.Serving.Tests;

/// <summary>
/// D2.Serving under hostile input and load, as a process over real HTTP: 1,000 fuzzed bodies get only 200 or a 4xx with
/// a JSON reason and leave the server healthy with bounded memory; a burst beyond D2_MAX_QUEUE gets fast 503s with
/// Retry-After; D2_REQUEST_TIMEOUT_SECONDS ends a request with 503; SIGTERM lets in-flight requests finish and exits 0,
/// and a request still running when the drain window (D2_DRAIN_SECONDS) ends gets 503 with a JSON reason.
/// </summary>
[NonParallelizable]
public class ServingRobustnessTests
{
    string _baseDirectory = "";
    byte[] _image = [];
    readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };

    [OneTimeSetUp]
    public void WriteModel()
    {
        _baseDirectory = Directory.CreateTempSubdirectory("d2-serving-robust-").FullName;
        ServingFixture.WriteModel(Path.Combine(_baseDirectory, "model"));
        _image = ServingFixture.Image();
    }

    [OneTimeTearDown]
    public void Clean()
    {
        _http.Dispose();
        Directory.Delete(_baseDirectory, recursive: true);
    }

    async Task<ServingFixture.ServingProcess> StartAsync(Dictionary<string, string>? environment = null)
    {
        var server = ServingFixture.Start(_baseDirectory, ServingFixture.FreePort(), environment);
        await server.WaitUntilHealthyAsync(_http, TimeSpan.FromSeconds(90));
        return server;
    }

    static HttpRequestMessage Invocation(ServingFixture.ServingProcess server, byte[] body, string contentType, string? attributes = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseUrl, "invocations")) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        if (attributes is not null)
            request.Headers.TryAddWithoutValidation("X-Amzn-SageMaker-Custom-Attributes", attributes);
        return request;
    }

    [Test]
    public async Task A_thousand_fuzzed_payloads_get_200_or_a_4xx_with_a_json_reason_and_the_server_stays_healthy()
    {
        // Batching on, so the fuzz also runs through the batcher's grouping and cancellation paths.
        using var server = await StartAsync(new() { ["D2_MAX_BATCH_SIZE"] = "4", ["D2_MAX_BATCH_DELAY_MS"] = "2", ["SAGEMAKER_MODEL_SERVER_WORKERS"] = "2" });
        var payloads = FuzzPayloads.Generate(_image, seed: 18, count: 1000);
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        async Task RunAsync() => await Parallel.ForEachAsync(payloads, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (payload, _) =>
        {
            using var request = Invocation(server, payload.Body, payload.ContentType, payload.CustomAttributes);
            using var response = await _http.SendAsync(request);
            var status = (int)response.StatusCode;
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            var text = await response.Content.ReadAsStringAsync();
            if (status != 200 && status is < 400 or > 499)
                failures.Enqueue($"{payload.Kind}: {status} {text}");
            else if (!IsJsonWithReason(text, status))
                failures.Enqueue($"{payload.Kind}: {status} without a JSON body: '{text[..Math.Min(200, text.Length)]}'");
        });
        var start = server.ResidentBytes();
        var clock = Stopwatch.StartNew();
        await RunAsync();
        var elapsed = clock.Elapsed;
        // The first pass brings the GC heaps and the native allocators to their working size (measured: ~300 -> ~700 MB,
        // then flat over three more passes); a second pass of the same 1,000 must not grow it further, or something leaks.
        var before = server.ResidentBytes();
        await RunAsync();
        var after = server.ResidentBytes();
        Assert.That(failures, Is.Empty, string.Join('\n', failures.Take(20)));
        Assert.That(server.HasExited, Is.False);
        using (var ping = await _http.GetAsync(new Uri(server.BaseUrl, "ping")))
            Assert.That(ping.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using (var request = Invocation(server, _image, "image/jpeg"))
        using (var response = await _http.SendAsync(request))
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "still predicts after the fuzz");
        TestContext.Out.WriteLine($"{payloads.Count} payloads in {elapsed.TotalSeconds:0.0} s, twice; statuses {string.Join(", ", statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}"))}; " +
            $"VmRSS {start / 1048576} MB -> {before / 1048576} MB (first pass) -> {after / 1048576} MB (second pass)");
        Assert.That(statuses.Keys, Does.Contain(200).And.Contain(400), "the mix has both readable and broken images");
        Assert.That(after - before, Is.LessThan(160L * 1024 * 1024), $"VmRSS grew from {before / 1048576} MB to {after / 1048576} MB over the second pass");
    }

    static bool IsJsonWithReason(string text, int status)
    {
        try
        {
            var json = JsonNode.Parse(text);
            return status == 200 || json?["error"]?.GetValue<string>() is { Length: > 0 };
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [Test]
    public async Task A_burst_beyond_the_queue_bound_gets_fast_503s_with_retry_after_and_every_answer_within_the_deadline()
    {
        using var server = await StartAsync(new() { ["D2_MAX_QUEUE"] = "2", ["D2_REQUEST_TIMEOUT_SECONDS"] = "10" });
        var clock = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
        {
            using var request = Invocation(server, _image, "image/jpeg");
            var sent = clock.Elapsed;
            using var response = await _http.SendAsync(request);
            return (Status: (int)response.StatusCode, Seconds: (clock.Elapsed - sent).TotalSeconds,
                RetryAfter: response.Headers.RetryAfter?.Delta, Body: await response.Content.ReadAsStringAsync());
        }));
        TestContext.Out.WriteLine(string.Join("\n", answers.Select(a => $"{a.Status} {a.Seconds:0.000} s")));
        Assert.That(answers.Select(a => a.Status), Is.All.AnyOf(200, 503));
        Assert.That(answers.Count(a => a.Status == 503), Is.GreaterThan(0), "16 at once is far beyond a queue of 2");
        Assert.That(answers.Count(a => a.Status == 200), Is.GreaterThan(0));
        Assert.That(answers.Select(a => a.Seconds), Is.All.LessThan(10), "every answer within D2_REQUEST_TIMEOUT_SECONDS");
        foreach (var busy in answers.Where(a => a.Status == 503))
        {
            Assert.That(busy.RetryAfter, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That((string?)JsonNode.Parse(busy.Body)!["error"], Does.Contain("D2_MAX_QUEUE"));
        }
        var metrics = await _http.GetStringAsync(new Uri(server.BaseUrl, "metrics"));
        Assert.That(metrics, Does.Contain("d2_rejected_total").And.Contain("d2_invocations_total{status=\"503\"}").And.Contain("d2_queue_depth"));
    }

    [Test]
    public async Task A_request_past_its_deadline_gets_503_with_the_setting_named_and_the_server_keeps_serving()
    {
        using var server = await StartAsync(new() { ["D2_REQUEST_TIMEOUT_SECONDS"] = "0.001" });
        using var request = Invocation(server, _image, "image/jpeg");
        using var response = await _http.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"], Does.Contain("D2_REQUEST_TIMEOUT_SECONDS"));
        using var ping = await _http.GetAsync(new Uri(server.BaseUrl, "ping"));
        Assert.That(ping.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(server.Output, Does.Match(@"request id=\w+ status=503 bytes=\d+ ms=[\d.]+ instances=0"), "one structured line per request");
    }

    [Test]
    public async Task Sigterm_during_requests_answers_every_in_flight_request_and_exits_0()
    {
        using var server = await StartAsync();
        // Five records per request keep each one in the model for a while (20 forward passes in all: the drain fits SageMaker's
        // 30 s even on a loaded 2-core machine, where 40 did not always).
        var record = $"{{\"image\": \"{Convert.ToBase64String(_image)}\"}}\n";
        var body = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(record, 5)));
        var requests = Enumerable.Range(0, 4).Select(async _ =>
        {
            using var request = Invocation(server, body, "application/jsonlines");
            using var response = await _http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.OK)
                TestContext.Out.WriteLine($"{(int)response.StatusCode}: {text}");
            return ((int)response.StatusCode, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        }).ToList();
        // SIGTERM once all four are inside the server (admitted: d2_queue_depth 4); a request still connecting would be refused.
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30) && !(await _http.GetStringAsync(new Uri(server.BaseUrl, "metrics"))).Contains("\nd2_queue_depth 4\n", StringComparison.Ordinal))
            await Task.Delay(20);
        server.Terminate();
        Assert.That(requests.Count(r => !r.IsCompleted), Is.GreaterThan(0), "requests were still in flight at SIGTERM");
        var answers = await Task.WhenAll(requests);
        Assert.That(answers, Is.All.EqualTo((200, 5)), $"every in-flight request finished with its 5 lines\n{server.Output}");
        Assert.That(server.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, "drained within 30 s");
        Assert.That(server.ExitCode, Is.Zero, server.Output);
    }

    [Test]
    public async Task Sigterm_answers_a_request_still_running_after_the_drain_window_with_503_and_exits_0()
    {
        using var server = await StartAsync(new() { ["D2_DRAIN_SECONDS"] = "1", ["D2_MAX_QUEUE"] = "300" });
        // 300 records (D2_MAX_QUEUE is also the most records one request may carry): far more forward passes than 1 s holds.
        var record = $"{{\"image\": \"{Convert.ToBase64String(_image)}\"}}\n";
        var body = System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(record, 300)));
        var answer = Task.Run(async () =>
        {
            using var request = Invocation(server, body, "application/jsonlines");
            using var response = await _http.SendAsync(request);
            return (response.StatusCode, response.Headers.RetryAfter?.Delta, await response.Content.ReadAsStringAsync());
        });
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30) && !(await _http.GetStringAsync(new Uri(server.BaseUrl, "metrics"))).Contains("\nd2_queue_depth 1\n", StringComparison.Ordinal))
            await Task.Delay(20);
        clock.Restart();
        server.Terminate();
        var (status, retryAfter, text) = await answer;
        Assert.That(status, Is.EqualTo(HttpStatusCode.ServiceUnavailable), text);
        var json = JsonNode.Parse(text)!;
        Assert.That((string?)json["error"], Does.Contain("SIGTERM").And.Contain("D2_DRAIN_SECONDS"));
        Assert.That((int?)json["status"], Is.EqualTo(503));
        Assert.That(retryAfter, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(server.WaitForExit(TimeSpan.FromSeconds(28)), Is.True, $"exited before SIGKILL would come (30 s)\n{server.Output}");
        Assert.That(server.ExitCode, Is.Zero, server.Output);
        TestContext.Out.WriteLine($"503 and exit {clock.Elapsed.TotalSeconds:F1} s after SIGTERM");
    }
}
