using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace D2.Serving.Tests;

/// <summary>
/// Batch transform's container contract (SageMaker sets SAGEMAKER_BATCH_STRATEGY, SAGEMAKER_MAX_PAYLOAD_IN_MB and
/// SAGEMAKER_MAX_CONCURRENT_TRANSFORMS from CreateTransformJob): /execution-parameters echoes them, SINGLE_RECORD takes one
/// jsonlines record per request (400 naming the setting otherwise), MULTI_RECORD answers one line per record, a body over
/// the payload limit gets 413 with a JSON reason (with and without Content-Length), and the platform's concurrent
/// requests are never refused by a smaller D2_MAX_QUEUE.
/// </summary>
[NonParallelizable]
public class BatchTransformTests
{
    string _baseDirectory = "";
    byte[] _image = [];
    readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };

    [OneTimeSetUp]
    public void WriteModel()
    {
        _baseDirectory = Directory.CreateTempSubdirectory("d2-serving-transform-").FullName;
        ServingFixture.WriteModel(Path.Combine(_baseDirectory, "model"));
        _image = ServingFixture.Image();
    }

    [OneTimeTearDown]
    public void Clean()
    {
        _http.Dispose();
        Directory.Delete(_baseDirectory, recursive: true);
    }

    async Task<ServingFixture.ServingProcess> StartAsync(Dictionary<string, string> environment)
    {
        var server = ServingFixture.Start(_baseDirectory, ServingFixture.FreePort(), environment);
        await server.WaitUntilHealthyAsync(_http, TimeSpan.FromSeconds(90));
        return server;
    }

    byte[] JsonLines(int records) =>
        Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat($"{{\"image\": \"{Convert.ToBase64String(_image)}\"}}\n", records)));

    async Task<(HttpStatusCode Status, string Body)> PostAsync(ServingFixture.ServingProcess server, HttpContent content)
    {
        using var response = await _http.PostAsync(new Uri(server.BaseUrl, "invocations"), content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    static ByteArrayContent Content(byte[] body, string type)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    [Test]
    public async Task Single_record_with_a_one_megabyte_limit_is_echoed_and_honoured()
    {
        using var server = await StartAsync(new()
        {
            ["SAGEMAKER_BATCH"] = "true", ["SAGEMAKER_BATCH_STRATEGY"] = "SINGLE_RECORD", ["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = "1",
            ["SAGEMAKER_MAX_CONCURRENT_TRANSFORMS"] = "4", ["D2_MAX_QUEUE"] = "1",
        });
        var parameters = JsonNode.Parse(await _http.GetStringAsync(new Uri(server.BaseUrl, "execution-parameters")))!;
        Assert.That((string?)parameters["BatchStrategy"], Is.EqualTo("SINGLE_RECORD"));
        Assert.That((int)parameters["MaxPayloadInMB"]!, Is.EqualTo(1));
        Assert.That((int)parameters["MaxConcurrentTransforms"]!, Is.EqualTo(4));

        using (var one = Content(JsonLines(1), "application/jsonlines"))
        {
            var (status, body) = await PostAsync(server, one);
            Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
            Assert.That(body.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(1));
        }
        using (var two = Content(JsonLines(2), "application/jsonlines"))
        {
            var (status, body) = await PostAsync(server, two);
            Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That((string?)JsonNode.Parse(body)!["error"], Does.Contain("2 records").And.Contain("SAGEMAKER_BATCH_STRATEGY is SINGLE_RECORD"));
        }

        // 1 MB + 1 byte: refused from Content-Length, and while reading a chunked body that has none.
        var tooBig = new byte[1024 * 1024 + 1];
        using (var declared = Content(tooBig, "image/jpeg"))
        {
            var (status, body) = await PostAsync(server, declared);
            Assert.That(status, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
            Assert.That((string?)JsonNode.Parse(body)!["error"], Does.Contain("SAGEMAKER_MAX_PAYLOAD_IN_MB").Or.Contain("1 MB"));
        }
        using (var chunked = new StreamContent(new MemoryStream(tooBig)))
        {
            chunked.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseUrl, "invocations")) { Content = chunked };
            request.Headers.TransferEncodingChunked = true;
            using var response = await _http.SendAsync(request);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
            Assert.That((string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"], Is.Not.Empty);
        }
        // Exactly at the limit is read (and then refused as an image, not as too large).
        using (var atLimit = Content(new byte[1024 * 1024], "image/jpeg"))
            Assert.That((await PostAsync(server, atLimit)).Status, Is.EqualTo(HttpStatusCode.BadRequest));

        // MaxConcurrentTransforms 4 raises D2_MAX_QUEUE 1: the platform's four requests at once are all answered.
        var together = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var content = Content(JsonLines(1), "application/jsonlines");
            return (await PostAsync(server, content)).Status;
        }));
        Assert.That(together, Is.All.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Multi_record_answers_one_line_per_record_in_order()
    {
        using var server = await StartAsync(new() { ["SAGEMAKER_BATCH"] = "true", ["SAGEMAKER_BATCH_STRATEGY"] = "MULTI_RECORD", ["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = "6" });
        var parameters = JsonNode.Parse(await _http.GetStringAsync(new Uri(server.BaseUrl, "execution-parameters")))!;
        Assert.That((string?)parameters["BatchStrategy"], Is.EqualTo("MULTI_RECORD"));
        Assert.That((int)parameters["MaxConcurrentTransforms"]!, Is.EqualTo(1), "unset: SAGEMAKER_MODEL_SERVER_WORKERS");
        using var content = Content(JsonLines(3), "application/jsonlines");
        var (status, body) = await PostAsync(server, content);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), body);
        var lines = body.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(3));
        Assert.That(lines.Distinct().Count(), Is.EqualTo(1), "the same record gets the same answer");
        Assert.That(JsonNode.Parse(lines[0])!["scores"]!.AsArray(), Is.Not.Empty);
    }
}
