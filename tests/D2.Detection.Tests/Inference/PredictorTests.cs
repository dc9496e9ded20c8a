using D2.Detection.Inference;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Inference;

/// <summary>DefaultPredictor semantics on a tiny untrained Mask R-CNN: original-size results, eval mode, thread safety.</summary>
public class PredictorTests
{
    const int Height = 90, Width = 120;
    Predictor _predictor = null!;
    byte[] _png = null!;

    [OneTimeSetUp]
    public void CreatePredictor()
    {
        _predictor = InferenceFixtures.TinyPredictor(warmUp: true);
        _png = InferenceFixtures.SyntheticPng(Width, Height);
    }

    [OneTimeTearDown]
    public void DisposePredictor() => _predictor.Dispose();

    [Test]
    public void Predict_returns_instances_at_the_original_size_with_boxes_inside()
    {
        using var instances = _predictor.Predict(_png);
        Assert.That(instances.ImageSize, Is.EqualTo((Height, Width)), "the 90x120 image ran at 128x171 and came back at its own size");
        var n = instances.Length;
        Assert.That(n, Is.InRange(1, 100), "SCORE_THRESH_TEST 0 keeps detections of an untrained model; TEST.DETECTIONS_PER_IMAGE caps them");
        var boxes = instances.Get<Boxes>("pred_boxes").Tensor;
        Assert.That(boxes.device_type, Is.EqualTo(TorchSharp.DeviceType.CPU));
        var values = boxes.data<float>().ToArray();
        for (var i = 0; i < n; i++)
        {
            Assert.That(values[4 * i], Is.InRange(0f, Width));
            Assert.That(values[4 * i + 1], Is.InRange(0f, Height));
            Assert.That(values[4 * i + 2], Is.InRange(values[4 * i], Width));
            Assert.That(values[4 * i + 3], Is.InRange(values[4 * i + 1], Height));
        }
        var scores = instances.Get<Tensor>("scores").data<float>().ToArray();
        Assert.That(scores, Is.Ordered.Descending);
        Assert.That(scores, Has.All.InRange(0f, 1f));
        Assert.That(instances.Get<Tensor>("pred_classes").data<long>().ToArray(), Has.All.InRange(0L, 1L));
        var masks = instances.Get<Tensor>("pred_masks");
        Assert.That(masks.shape, Is.EqualTo(new long[] { n, Height, Width }));
        Assert.That(masks.dtype, Is.EqualTo(ScalarType.Bool));
    }

    [Test]
    public void Bytes_bitmap_and_direct_model_call_give_the_same_predictions()
    {
        using var fromBytes = _predictor.Predict(_png);
        using var bitmap = _predictor.DecodeImage(_png);
        using var fromBitmap = _predictor.Predict(bitmap);
        // Detectron2's DefaultPredictor call, spelled out: resize, then the model with the original height and width.
        using var input = ImagePreprocessor.FromConfig(_predictor.Config).Preprocess(bitmap);
        var direct = _predictor.Model.Inference([new ModelInput(input.Image, Height: Height, Width: Width)])[0];
        foreach (var other in new[] { fromBitmap, direct })
        {
            Assert.That(InferenceFixtures.Same(other.Get<Boxes>("pred_boxes").Tensor, fromBytes.Get<Boxes>("pred_boxes").Tensor), Is.True, "pred_boxes");
            Assert.That(InferenceFixtures.Same(other.Get<Tensor>("pred_masks"), fromBytes.Get<Tensor>("pred_masks")), Is.True, "pred_masks");
        }
        direct.Dispose();
    }

    [Test]
    public void Concurrent_calls_give_the_same_results_as_serial_ones()
    {
        using var serial = _predictor.Predict(_png);
        var expected = serial.Get<Boxes>("pred_boxes").Tensor.data<float>().ToArray();
        var results = new float[4][];
        Parallel.For(0, results.Length, i =>
        {
            using var instances = _predictor.Predict(_png);
            results[i] = instances.Get<Boxes>("pred_boxes").Tensor.data<float>().ToArray();
        });
        Assert.That(results, Has.All.EqualTo(expected));
    }

    [Test]
    public void Model_is_in_eval_mode()
    {
        Assert.That(_predictor.Model.training, Is.False);
        Assert.That(_predictor.ClassNames, Is.EqualTo(InferenceFixtures.ClassNames));
    }

    [Test]
    public void Unreadable_image_is_reported_as_invalid_input()
    {
        Assert.That(() => _predictor.Predict([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]), Throws.TypeOf<InvalidImageException>());
    }
}
