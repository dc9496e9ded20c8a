using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using D2.Detection.Data.Synthetic;
using D2.Detection.Inference;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Serving.Tests;

/// <summary>
/// Dynamic batching gives what one-by-one prediction gives: in process (Predictor.PredictBatch against Predict on images
/// that pad to one shape, as the batcher groups them) and over HTTP (D2_MAX_BATCH_SIZE 8: concurrent requests share
/// forward passes, as /metrics shows, and answer what a lone request answers).
/// </summary>
[NonParallelizable]
public class ServingBatchingTests
{
    // The documented bound (README, serving section): oneDNN blocks a batch's convolutions differently from one image's, so
    // answers differ by float32 rounding of reordered sums (measured 1.5e-5 here); 1e-3 of a probability or of a pixel
    // leaves room for deeper models and changes no detection. Bitwise equality is not offered by libtorch's convolutions.
    const double Tolerance = 1e-3;
    string _baseDirectory = "";
    List<byte[]> _images = [];

    [OneTimeSetUp]
    public void WriteModel()
    {
        _baseDirectory = Directory.CreateTempSubdirectory("d2-serving-batch-").FullName;
        ServingFixture.WriteModel(Path.Combine(_baseDirectory, "model"));
        var folder = Path.Combine(_baseDirectory, "images");
        // 160x120 and 156x117 resize to 160x120 and 160x120-ish, both padding to 128x160: one batch group.
        SyntheticBalloons.Generate(folder, trainCount: 3, valCount: 0, seed: 3, width: 160, height: 120);
        _images = Directory.EnumerateFiles(Path.Combine(folder, "train"), "*.jpg").Order().Select(File.ReadAllBytes).ToList();
        SyntheticBalloons.Generate(Path.Combine(_baseDirectory, "other"), trainCount: 1, valCount: 0, seed: 4, width: 156, height: 117);
        _images.Add(File.ReadAllBytes(Directory.EnumerateFiles(Path.Combine(_baseDirectory, "other", "train"), "*.jpg").First()));
    }

    [OneTimeTearDown]
    public void Clean() => Directory.Delete(_baseDirectory, recursive: true);

    [Test]
    public void A_batched_forward_pass_gives_each_image_what_it_gets_alone()
    {
        using var predictor = Predictor.FromModelDirectory(Path.Combine(_baseDirectory, "model"));
        var inputs = _images.Select(bytes =>
        {
            using var bitmap = predictor.DecodeImage(bytes);
            return predictor.Preprocessor.Preprocess(bitmap);
        }).ToList();
        try
        {
            Assert.That(inputs.Select(predictor.PaddedShape).Distinct().Count(), Is.EqualTo(1), "one padded shape, as the batcher groups");
            var single = inputs.Select(i => predictor.Predict(i)).ToList();
            var batched = predictor.PredictBatch(inputs);
            double worst = 0;
            for (var i = 0; i < inputs.Count; i++)
            {
                Assert.That(batched[i].Length, Is.EqualTo(single[i].Length), $"image {i}: instance count");
                Assert.That(batched[i].Get<Tensor>("pred_classes").data<long>().ToArray(), Is.EqualTo(single[i].Get<Tensor>("pred_classes").data<long>().ToArray()));
                foreach (var (name, tensorOf) in new (string, Func<Instances, Tensor>)[]
                {
                    ("scores", x => x.Get<Tensor>("scores")), ("pred_boxes", x => x.Get<Boxes>("pred_boxes").Tensor),
                })
                {
                    var difference = (tensorOf(batched[i]) - tensorOf(single[i])).abs().max().item<float>();
                    worst = Math.Max(worst, difference);
                    Assert.That(difference, Is.LessThanOrEqualTo(Tolerance), $"image {i}: {name}");
                }
                var masksDiffer = batched[i].Get<Tensor>("pred_masks").ne(single[i].Get<Tensor>("pred_masks")).sum().item<long>();
                var maskPixels = single[i].Get<Tensor>("pred_masks").numel();
                Assert.That(masksDiffer, Is.LessThanOrEqualTo(maskPixels / 10_000), $"image {i}: mask pixels that differ (a boundary pixel at 0.5 can flip)");
            }
            TestContext.Out.WriteLine($"largest difference batched vs single (scores, boxes): {worst:g3}");
            single.ForEach(s => s.Dispose());
            foreach (var b in batched)
                b.Dispose();
        }
        finally
        {
            inputs.ForEach(i => i.Dispose());
        }
    }

    [Test]
    public async Task Concurrent_requests_share_forward_passes_and_answer_what_a_lone_request_answers()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var server = ServingFixture.Start(_baseDirectory, ServingFixture.FreePort(),
            new Dictionary<string, string> { ["D2_MAX_BATCH_SIZE"] = "8", ["D2_MAX_BATCH_DELAY_MS"] = "200" });
        await server.WaitUntilHealthyAsync(http, TimeSpan.FromSeconds(90));
        async Task<JsonNode> Invoke(byte[] body)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            using var response = await http.PostAsync(new Uri(server.BaseUrl, "invocations"), content);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        }
        var alone = new List<JsonNode>();
        foreach (var bytes in _images)
            alone.Add(await Invoke(bytes));
        var together = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Invoke(_images[i % _images.Count])));
        for (var i = 0; i < together.Length; i++)
        {
            var expected = alone[i % _images.Count];
            Assert.That(together[i]["pred_classes"]!.ToJsonString(), Is.EqualTo(expected["pred_classes"]!.ToJsonString()));
            var scores = together[i]["scores"]!.AsArray().Select(v => (double)v!).ToArray();
            Assert.That(scores, Is.EqualTo(expected["scores"]!.AsArray().Select(v => (double)v!).ToArray()).Within(Tolerance));
            var boxes = together[i]["pred_boxes"]!.AsArray().SelectMany(b => b!.AsArray().Select(v => (double)v!)).ToArray();
            Assert.That(boxes, Is.EqualTo(expected["pred_boxes"]!.AsArray().SelectMany(b => b!.AsArray().Select(v => (double)v!)).ToArray()).Within(Tolerance));
        }
        var metrics = await http.GetStringAsync(new Uri(server.BaseUrl, "metrics"));
        double Metric(string name) => double.Parse(metrics.Split('\n').First(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var passes = Metric("d2_batch_size_count");
        var imagesRun = Metric("d2_batch_size_sum");
        TestContext.Out.WriteLine($"{imagesRun} images in {passes} forward passes (warm-up excluded)");
        Assert.That(imagesRun, Is.EqualTo(_images.Count + 8));
        Assert.That(passes, Is.LessThan(imagesRun), "some requests shared a forward pass");
    }
}
