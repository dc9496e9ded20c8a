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
    // With Predictor.BatchInvariant (set by the server when D2_MAX_BATCH_SIZE > 1), an image's numbers do not depend on
    // its batch: every comparison below is exact.
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

    static byte[] Bytes(Instances instances, string field)
    {
        var tensor = field == "pred_boxes" ? instances.Get<Boxes>(field).Tensor : instances.Get<Tensor>(field);
        return tensor.dtype switch
        {
            ScalarType.Bool => tensor.to(ScalarType.Byte).data<byte>().ToArray(),
            ScalarType.Int64 => tensor.data<long>().ToArray().SelectMany(BitConverter.GetBytes).ToArray(),
            _ => tensor.data<float>().ToArray().SelectMany(BitConverter.GetBytes).ToArray(),
        };
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
            predictor.BatchInvariant = true;
            var single = inputs.Select(i => predictor.Predict(i)).ToList();
            var batched = predictor.PredictBatch(inputs);
            var pairs = predictor.PredictBatch(inputs.Take(2).ToList());
            for (var i = 0; i < inputs.Count; i++)
            {
                foreach (var (what, output) in new[] { ("batch of 4", batched[i]) }.Concat(i < 2 ? [("batch of 2", pairs[i])] : []))
                {
                    Assert.That(output.Length, Is.EqualTo(single[i].Length), $"image {i} in a {what}: instance count");
                    Assert.That(single[i].Length, Is.GreaterThan(0), $"image {i}: the test model detects something");
                    foreach (var field in new[] { "pred_classes", "scores", "pred_boxes", "pred_masks" })
                        Assert.That(Bytes(output, field), Is.EqualTo(Bytes(single[i], field)), $"image {i} in a {what}: {field} bit for bit");
                }
            }
            // Without it, the same images drift by float rounding (one image's small convolutions take libtorch's own kernel).
            predictor.BatchInvariant = false;
            var plain = inputs.Select(i => predictor.Predict(i)).ToList();
            var drift = plain.Zip(batched, (p, b) => (p.Get<Boxes>("pred_boxes").Tensor - b.Get<Boxes>("pred_boxes").Tensor).abs().max().item<float>()).Max();
            TestContext.Out.WriteLine($"largest box difference batched vs single without BatchInvariant: {drift:g3}; with it: 0");
            plain.ForEach(p => p.Dispose());
            foreach (var p in pairs)
                p.Dispose();
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
        async Task<string> Invoke(byte[] body)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            using var response = await http.PostAsync(new Uri(server.BaseUrl, "invocations"), content);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            var answer = await response.Content.ReadAsStringAsync();
            Assert.That(JsonNode.Parse(answer)!["scores"]!.AsArray(), Is.Not.Empty, "the test model detects something");
            return answer;
        }
        var alone = new List<string>();
        foreach (var bytes in _images)
            alone.Add(await Invoke(bytes));
        var together = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Invoke(_images[i % _images.Count])));
        // Byte for byte: the server makes an image's numbers independent of its batch (Predictor.BatchInvariant).
        for (var i = 0; i < together.Length; i++)
            Assert.That(together[i], Is.EqualTo(alone[i % _images.Count]), $"request {i}: the answer it gets alone");
        var metrics = await http.GetStringAsync(new Uri(server.BaseUrl, "metrics"));
        double Metric(string name) => double.Parse(metrics.Split('\n').First(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var passes = Metric("d2_batch_size_count");
        var imagesRun = Metric("d2_batch_size_sum");
        TestContext.Out.WriteLine($"{imagesRun} images in {passes} forward passes (warm-up excluded)");
        Assert.That(imagesRun, Is.EqualTo(_images.Count + 8));
        Assert.That(passes, Is.LessThan(imagesRun), "some requests shared a forward pass");
    }
}
