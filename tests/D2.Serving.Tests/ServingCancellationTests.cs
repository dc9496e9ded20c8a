using System.Net;
using System.Text.Json.Nodes;
using D2.Detection.Inference;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Serving.Tests;

/// <summary>
/// Work whose request gave up is dropped between the model's stages: in process (a token cancelled as a stage ends stops
/// GeneralizedRCNN before the next one, and an uncancelled token changes nothing) and over HTTP (a jsonlines request of
/// many records past D2_REQUEST_TIMEOUT_SECONDS gets 503, and /metrics shows the model stopped early: fewer images
/// finished than records, every queued one accounted for as finished, stopped between stages or dropped before its pass).
/// </summary>
[NonParallelizable]
public class ServingCancellationTests
{
    static readonly InferenceStage[] AllStages = Enum.GetValues<InferenceStage>();
    string _baseDirectory = "";
    byte[] _image = [];

    [OneTimeSetUp]
    public void WriteModel()
    {
        _baseDirectory = Directory.CreateTempSubdirectory("d2-serving-cancel-").FullName;
        ServingFixture.WriteModel(Path.Combine(_baseDirectory, "model"));
        _image = ServingFixture.Image();
    }

    [OneTimeTearDown]
    public void Clean() => Directory.Delete(_baseDirectory, recursive: true);

    [Test]
    public void A_token_cancelled_as_a_stage_ends_stops_the_model_before_the_next_stage_and_an_uncancelled_one_changes_nothing()
    {
        using var predictor = Predictor.FromModelDirectory(Path.Combine(_baseDirectory, "model"));
        using var bitmap = predictor.DecodeImage(_image);
        using var input = predictor.Preprocessor.Preprocess(bitmap);
        foreach (var cancelAfter in AllStages)
        {
            var ran = new List<InferenceStage>();
            using var cancellation = new CancellationTokenSource();
            var stopped = Assert.Throws<InferenceCancelledException>(() => predictor.PredictBatch([input], cancellation.Token, stage =>
            {
                ran.Add(stage);
                if (stage == cancelAfter)
                    cancellation.Cancel();
            }))!;
            Assert.That(stopped.CompletedStage, Is.EqualTo(cancelAfter));
            Assert.That(stopped.CancellationToken, Is.EqualTo(cancellation.Token));
            Assert.That(ran, Is.EqualTo(AllStages.TakeWhile(s => s != cancelAfter).Append(cancelAfter)), $"cancelled after {cancelAfter}: no later stage ran");
        }

        var stages = new List<InferenceStage>();
        using var live = new CancellationTokenSource();
        var outputs = predictor.PredictBatch([input], live.Token, stages.Add);
        using var expected = predictor.Predict(input);
        using var actual = outputs[0];
        Assert.That(stages, Is.EqualTo(AllStages), "every stage, in order");
        Assert.That(actual.Length, Is.EqualTo(expected.Length));
        Assert.That(actual.Get<Tensor>("scores").eq(expected.Get<Tensor>("scores")).all().item<bool>(), Is.True, "bitwise the same scores");
        Assert.That(actual.Get<Boxes>("pred_boxes").Tensor.eq(expected.Get<Boxes>("pred_boxes").Tensor).all().item<bool>(), Is.True);
        Assert.That(actual.Get<Tensor>("pred_masks").eq(expected.Get<Tensor>("pred_masks")).all().item<bool>(), Is.True);
    }

    [TestCase("1")]
    [TestCase("4")]
    public async Task A_request_past_its_deadline_stops_the_model_early(string batchSize)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var server = ServingFixture.Start(_baseDirectory, ServingFixture.FreePort(), new Dictionary<string, string>
        {
            ["D2_REQUEST_TIMEOUT_SECONDS"] = "1", ["D2_MAX_QUEUE"] = "300", ["D2_MAX_BATCH_SIZE"] = batchSize, ["D2_MAX_BATCH_DELAY_MS"] = "1",
        });
        await server.WaitUntilHealthyAsync(http, TimeSpan.FromSeconds(90));
        // 300 records, each handed to the model as soon as it is decoded: far more model time than 1 s on any CPU, and the
        // model is busy (decoding a record is much faster than its forward pass) when the deadline comes.
        const int records = 300;
        var record = $"{{\"image\": \"{Convert.ToBase64String(_image)}\"}}\n";
        using var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(record, records))));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/jsonlines");
        using var response = await http.PostAsync(new Uri(server.BaseUrl, "invocations"), content);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That((string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"], Does.Contain("D2_REQUEST_TIMEOUT_SECONDS"));

        // The model thread settles what it held: the stage in progress ends, the rest of the queue is dropped.
        Dictionary<string, double> metrics = [];
        for (var attempt = 0; attempt < 100; attempt++)
        {
            metrics = Metrics(await http.GetStringAsync(new Uri(server.BaseUrl, "metrics")));
            if (Settled(metrics) == metrics.GetValueOrDefault("d2_queued_images_total"))
                break;
            await Task.Delay(100);
        }
        TestContext.Out.WriteLine(string.Join("\n", metrics.Where(m => m.Key.StartsWith("d2_model_stages", StringComparison.Ordinal)
            || m.Key.StartsWith("d2_model_cancelled", StringComparison.Ordinal) || m.Key.StartsWith("d2_dropped", StringComparison.Ordinal)
            || m.Key.StartsWith("d2_queued", StringComparison.Ordinal) || m.Key.StartsWith("d2_batch_size_sum", StringComparison.Ordinal)).Select(m => $"{m.Key} {m.Value}")));
        var queued = metrics.GetValueOrDefault("d2_queued_images_total");
        var finished = metrics.GetValueOrDefault("d2_batch_size_sum");
        var stoppedPasses = metrics.Where(m => m.Key.StartsWith("d2_model_cancelled_total{", StringComparison.Ordinal)).Sum(m => m.Value);
        Assert.That(queued, Is.GreaterThan(0), "the model had work when the deadline came");
        Assert.That(Settled(metrics), Is.EqualTo(queued), "every queued image was predicted, stopped inside its pass or dropped before one");
        Assert.That(finished, Is.LessThan(records), "the model stopped early");
        Assert.That(metrics.GetValueOrDefault("d2_dropped_images_total") + stoppedPasses, Is.GreaterThan(0), "work was dropped");
        // Each stage ran in every finished pass and in every stopped pass that stopped at it or later, never beyond.
        var passes = metrics.GetValueOrDefault("d2_batch_size_count");
        string[] labels = ["preprocess", "backbone", "proposal_generator", "box_head", "mask_head", "postprocess"];
        for (var i = 0; i < labels.Length; i++)
        {
            var stoppedAtOrAfter = labels.Skip(i).Sum(l => metrics.GetValueOrDefault($"d2_model_cancelled_total{{after_stage=\"{l}\"}}"));
            Assert.That(metrics.GetValueOrDefault($"d2_model_stages_total{{stage=\"{labels[i]}\"}}"), Is.EqualTo(passes + stoppedAtOrAfter),
                $"{labels[i]}: run by finished passes and by stopped passes that got that far, no further");
        }
        using var ping = await http.GetAsync(new Uri(server.BaseUrl, "ping"));
        Assert.That(ping.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        static double Settled(Dictionary<string, double> m) => m.GetValueOrDefault("d2_batch_size_sum") + m.GetValueOrDefault("d2_dropped_images_total")
            + m.GetValueOrDefault("d2_model_cancelled_images_total");
    }

    static Dictionary<string, double> Metrics(string text) => text.Split('\n')
        .Where(l => l.StartsWith("d2_", StringComparison.Ordinal))
        .Select(l => l.Split(' '))
        .ToDictionary(p => p[0], p => double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
}
