using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace D2.Serving.Tests;

/// <summary>
/// D2.Serving as SageMaker runs it (`serve`, SAGEMAKER_BIND_TO_PORT, the model in /opt/ml/model), over real HTTP:
/// /ping once the model is loaded, /invocations answering JSON or a PNG overlay, 4xx with a reason for bad requests,
/// /execution-parameters for batch transform, a clean exit on SIGTERM.
/// </summary>
[NonParallelizable]
public class ServingProcessTests
{
    string _baseDirectory = "";
    byte[] _image = [];
    ServingFixture.ServingProcess? _server;
    readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };

    [OneTimeSetUp]
    public async Task StartServer()
    {
        _baseDirectory = Directory.CreateTempSubdirectory("d2-serving-").FullName;
        ServingFixture.WriteModel(Path.Combine(_baseDirectory, "model"));
        _image = ServingFixture.Image();
        _server = ServingFixture.Start(_baseDirectory, ServingFixture.FreePort());
        await _server.WaitUntilHealthyAsync(_http, TimeSpan.FromSeconds(90));
    }

    [OneTimeTearDown]
    public void StopServer()
    {
        _server?.Dispose();
        _http.Dispose();
        Directory.Delete(_baseDirectory, recursive: true);
    }

    async Task<HttpResponseMessage> InvokeAsync(byte[] body, string contentType, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_server!.BaseUrl, "invocations")) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (accept is not null)
            request.Headers.TryAddWithoutValidation("Accept", accept);
        return await _http.SendAsync(request);
    }

    [Test]
    public async Task An_image_gets_the_inference_json_with_the_original_projects_fields()
    {
        using var response = await InvokeAsync(_image, "image/jpeg");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.That(json.Select(p => p.Key), Is.SupersetOf(new[] { "pred_boxes", "scores", "pred_classes", "pred_masks_rle", "image_size", "class_names" }));
        Assert.That(json["image_size"]!.AsArray().Select(v => (int)v!), Is.EqualTo(new[] { 120, 160 }));
        var count = json["scores"]!.AsArray().Count;
        Assert.That(count, Is.GreaterThan(0), "SCORE_THRESH_TEST 0 keeps the random model's detections");
        Assert.That(json["pred_boxes"]!.AsArray(), Has.Count.EqualTo(count));
        Assert.That(json["pred_masks_rle"]!.AsArray(), Has.Count.EqualTo(count));
        Assert.That((string?)json["pred_masks_rle"]![0]!["counts"], Is.Not.Empty);
        Assert.That(json["class_names"]!.AsArray().Select(v => (string?)v), Has.All.EqualTo("balloon"));
    }

    [Test]
    public async Task A_prediction_leaves_no_libtorch_warning_in_the_servers_output()
    {
        // 16 or more detections: the mask head's convolutions then run with a batch of 16+, where libtorch checks NNPACK and,
        // on CPUs NNPACK does not support, logs "Could not initialize NNPACK!" once per conv unless TORCH_CPP_LOG_LEVEL is applied.
        var json = await OkJsonAsync(_image, "image/jpeg");
        Assert.That(json["scores"]!.AsArray(), Has.Count.GreaterThanOrEqualTo(16));
        await Task.Delay(200); // the redirected output is read asynchronously
        Assert.That(_server!.Output, Does.Contain("TORCH_CPP_LOG_LEVEL ERROR"), "the start-up line names the level libtorch was given");
        var warnings = _server.Output.Split('\n').Where(l => l.Contains("NNPACK", StringComparison.Ordinal)
            || System.Text.RegularExpressions.Regex.IsMatch(l, @"^\[[WE]\d{4} ")).ToList();
        Assert.That(warnings, Is.Empty, "libtorch's C++ warnings (c10 log lines)");
    }

    async Task<JsonNode> OkJsonAsync(byte[] body, string contentType, string? attributes = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_server!.BaseUrl, "invocations")) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (attributes is not null)
            request.Headers.TryAddWithoutValidation("X-Amzn-SageMaker-Custom-Attributes", attributes);
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return JsonNode.Parse(text)!;
    }

    [Test]
    public async Task An_npy_array_of_the_same_pixels_in_input_format_gets_the_same_answer_as_the_jpeg()
    {
        var expected = (await OkJsonAsync(_image, "image/jpeg")).ToJsonString();
        // The original project's clients send np.save(cv2.imread(path)): (H, W, 3) uint8 in BGR, the config's INPUT.FORMAT.
        var pixels = D2.Detection.Data.ImageDecoder.Decode(_image, "BGR", "test");
        var npy = FuzzPayloads.Npy("|u1", false, $"({pixels.Height}, {pixels.Width}, 3)", pixels.Pixels);
        Assert.That((await OkJsonAsync(npy, "application/x-npy")).ToJsonString(), Is.EqualTo(expected));
        var version2 = FuzzPayloads.Npy("|u1", false, $"({pixels.Height}, {pixels.Width}, 3)", pixels.Pixels, major: 2);
        Assert.That((await OkJsonAsync(version2, "application/x-npy")).ToJsonString(), Is.EqualTo(expected));
    }

    [TestCase("<f4", "(2, 2, 3)", 48, HttpStatusCode.UnsupportedMediaType, "dtype '<f4'")]
    [TestCase("|u1", "(2, 2)", 4, HttpStatusCode.BadRequest, "shape is (2, 2)")]
    [TestCase("|u1", "(2, 2, 3)", 5, HttpStatusCode.BadRequest, "needs 12 bytes of data but 5")]
    public async Task An_npy_array_that_is_not_an_hwc_uint8_image_gets_a_4xx_naming_the_problem(string descr, string shape, int dataBytes, HttpStatusCode status, string message)
    {
        using var response = await InvokeAsync(FuzzPayloads.Npy(descr, false, shape, new byte[dataBytes]), "application/x-npy");
        Assert.That(response.StatusCode, Is.EqualTo(status));
        Assert.That((string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"], Does.Contain(message));
    }

    [Test]
    public async Task Json_with_base64_images_and_jsonlines_records_get_one_answer_per_image()
    {
        var expected = (await OkJsonAsync(_image, "image/jpeg")).ToJsonString();
        var b64 = Convert.ToBase64String(_image);
        Assert.That((await OkJsonAsync(Encoding.UTF8.GetBytes($"{{\"image\": \"{b64}\"}}"), "application/json")).ToJsonString(), Is.EqualTo(expected));
        var list = (await OkJsonAsync(Encoding.UTF8.GetBytes($"{{\"images\": [\"{b64}\", \"{b64}\"]}}"), "application/json")).AsArray();
        Assert.That(list.Select(n => n!.ToJsonString()), Is.EqualTo(new[] { expected, expected }));

        using var lines = await InvokeAsync(Encoding.UTF8.GetBytes($"{{\"image\": \"{b64}\"}}\n{{\"image\": \"{b64}\"}}\n{{\"image\": \"{b64}\"}}\n"), "application/jsonlines");
        Assert.That(lines.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(lines.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/jsonlines"));
        var answer = (await lines.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(answer, Is.EqualTo(new[] { expected, expected, expected }), "one output line per input line, in order");
    }

    [Test]
    public async Task Custom_attributes_filter_by_score_cap_the_count_and_drop_masks()
    {
        var all = await OkJsonAsync(_image, "image/jpeg");
        var scores = all["scores"]!.AsArray().Select(v => (double)v!).ToArray();
        Assert.That(scores, Is.Ordered.Descending);
        var threshold = scores[scores.Length / 2];
        var above = await OkJsonAsync(_image, "image/jpeg", $"score_threshold={threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        Assert.That(above["scores"]!.AsArray().Select(v => (double)v!), Is.EqualTo(scores.Where(s => (float)s >= (float)threshold)), "compared as the model's float32 scores");
        var two = await OkJsonAsync(_image, "image/jpeg", "max_detections=2, masks=false");
        Assert.That(two["scores"]!.AsArray().Select(v => (double)v!), Is.EqualTo(scores.Take(2)));
        Assert.That(two["pred_boxes"]!.ToJsonString(), Is.EqualTo(new JsonArray(all["pred_boxes"]!.AsArray().Take(2).Select(n => n!.DeepClone()).ToArray()).ToJsonString()));
        Assert.That(two.AsObject().ContainsKey("pred_masks_rle"), Is.False);
        Assert.That(two.AsObject().Select(p => p.Key), Is.SupersetOf(new[] { "pred_boxes", "scores", "pred_classes", "image_size" }));
    }

    [Test]
    public async Task Metrics_are_prometheus_text_with_requests_latency_queue_batches_and_model_time()
    {
        using (await InvokeAsync(_image, "image/jpeg"))
        {
        }
        var metrics = await _http.GetStringAsync(new Uri(_server!.BaseUrl, "metrics"));
        Assert.That(metrics, Does.Contain("d2_invocations_total{status=\"200\"}").And.Contain("d2_invocation_duration_seconds_bucket")
            .And.Contain("d2_queue_depth").And.Contain("d2_batch_size_bucket").And.Contain("d2_model_seconds_bucket"));
    }

    [Test]
    public async Task Accept_image_png_gets_the_overlay_and_application_octet_stream_is_an_image_too()
    {
        using var response = await InvokeAsync(_image, "application/octet-stream", "image/png");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("image/png"));
        var png = await response.Content.ReadAsByteArrayAsync();
        Assert.That(png[..8], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }));
    }

    [TestCase("text/plain", null, HttpStatusCode.UnsupportedMediaType, "Content-Type 'text/plain' is not supported")]
    [TestCase("image/jpeg", "text/csv", HttpStatusCode.NotAcceptable, "Accept 'text/csv' is not supported")]
    public async Task Unsupported_types_get_a_4xx_that_names_them(string contentType, string? accept, HttpStatusCode status, string message)
    {
        using var response = await InvokeAsync(_image, contentType, accept);
        Assert.That(response.StatusCode, Is.EqualTo(status));
        Assert.That((string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"], Does.Contain(message));
    }

    [Test]
    public async Task Bytes_that_are_not_an_image_get_400_and_the_server_keeps_serving()
    {
        using var response = await InvokeAsync("not an image"u8.ToArray(), "image/jpeg");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"], Does.Contain("not a readable image"));
        using var empty = await InvokeAsync([], "image/jpeg");
        Assert.That(empty.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        using var again = await InvokeAsync(_image, "image/jpeg");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Execution_parameters_answer_batch_transform_in_sagemakers_field_names()
    {
        var json = JsonNode.Parse(await _http.GetStringAsync(new Uri(_server!.BaseUrl, "execution-parameters")))!;
        Assert.That((int)json["MaxConcurrentTransforms"]!, Is.EqualTo(1));
        Assert.That((string?)json["BatchStrategy"], Is.EqualTo("MULTI_RECORD"), "jsonlines bodies carry several records");
        Assert.That((int)json["MaxPayloadInMB"]!, Is.EqualTo(6));
    }

    [TestCase("SAGEMAKER_BIND_TO_PORT", "http")]
    [TestCase("SAGEMAKER_MODEL_SERVER_WORKERS", "0")]
    [TestCase("D2_OVERLAY_SCORE_THRESHOLD", "2")]
    [TestCase("SAGEMAKER_BATCH_STRATEGY", "TWO_RECORDS")]
    [TestCase("SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", "-1")]
    [TestCase("D2_DRAIN_SECONDS", "30")]
    public void A_bad_setting_stops_the_server_with_a_reason_that_names_it(string variable, string value)
    {
        using var broken = ServingFixture.Start(_baseDirectory, ServingFixture.FreePort(), new Dictionary<string, string> { [variable] = value });
        Assert.That(broken.WaitForExit(TimeSpan.FromSeconds(60)), Is.True);
        Assert.That(broken.ExitCode, Is.EqualTo(2));
        Assert.That(broken.Output, Does.Contain("cannot serve").And.Contain(variable).And.Contain(value));
    }

    [Test]
    public async Task A_missing_model_stops_the_server_with_a_reason_and_sigterm_ends_a_running_one_cleanly()
    {
        var empty = Directory.CreateTempSubdirectory("d2-serving-empty-").FullName;
        try
        {
            using var broken = ServingFixture.Start(empty, ServingFixture.FreePort());
            Assert.That(broken.WaitForExit(TimeSpan.FromSeconds(60)), Is.True);
            Assert.That(broken.ExitCode, Is.EqualTo(2));
            Assert.That(broken.Output, Does.Contain("cannot serve").And.Contain(Path.Combine(empty, "model")));

            Directory.CreateDirectory(Path.Combine(empty, "model"));
            foreach (var file in Directory.EnumerateFiles(Path.Combine(_baseDirectory, "model")))
                File.Copy(file, Path.Combine(empty, "model", Path.GetFileName(file)));
            using var second = ServingFixture.Start(empty, ServingFixture.FreePort());
            await second.WaitUntilHealthyAsync(_http, TimeSpan.FromSeconds(90));
            second.Terminate();
            Assert.That(second.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, "exits within SageMaker's 30 s");
            Assert.That(second.ExitCode, Is.Zero, second.Output);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }
}
