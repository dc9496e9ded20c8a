using System.Text.Json;
using D2.Detection.Inference;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Inference;

/// <summary>The inference response: the original project's field names, COCO RLE masks that decode to pred_masks.</summary>
public class InstancesJsonTests
{
    const int Height = 7, Width = 9;

    static Instances TwoDetections()
    {
        var ring = InferenceFixtures.RectangleMask(Height, Width, 1, 1, 6, 6);
        ring[3 * Width + 3] = 0; // a hole, so the RLE has inner runs
        return InferenceFixtures.Predictions(Height, Width,
            [[1, 1, 6, 6], [4.5f, 0.25f, 9, 7]],
            [0.875f, 0.5f],
            [1, 0],
            [ring, InferenceFixtures.RectangleMask(Height, Width, 5, 0, 9, 7)]);
    }

    [Test]
    public void Response_has_the_contract_field_names_and_values()
    {
        using var instances = TwoDetections();
        using var json = JsonDocument.Parse(InstancesJson.ToUtf8Bytes(instances, ["balloon", "kite"]));
        var root = json.RootElement;
        Assert.That(root.EnumerateObject().Select(p => p.Name),
            Is.EqualTo(new[] { "pred_boxes", "scores", "pred_classes", "pred_masks_rle", "image_size", "class_names" }));
        Assert.That(root.GetProperty("pred_boxes").EnumerateArray().Select(b => b.EnumerateArray().Select(v => v.GetDouble()).ToArray()),
            Is.EqualTo(new[] { new[] { 1.0, 1, 6, 6 }, new[] { 4.5, 0.25, 9, 7 } }));
        Assert.That(root.GetProperty("scores").EnumerateArray().Select(v => v.GetDouble()), Is.EqualTo(new[] { 0.875, 0.5 }));
        Assert.That(root.GetProperty("pred_classes").EnumerateArray().Select(v => v.GetInt64()), Is.EqualTo(new[] { 1L, 0L }));
        Assert.That(root.GetProperty("image_size").EnumerateArray().Select(v => v.GetInt32()), Is.EqualTo(new[] { Height, Width }));
        Assert.That(root.GetProperty("class_names").EnumerateArray().Select(v => v.GetString()), Is.EqualTo(new[] { "kite", "balloon" }));
    }

    [Test]
    public void Mask_rle_decodes_back_to_pred_masks()
    {
        using var instances = TwoDetections();
        using var json = JsonDocument.Parse(InstancesJson.ToUtf8Bytes(instances));
        var rles = json.RootElement.GetProperty("pred_masks_rle").EnumerateArray().ToList();
        Assert.That(rles, Has.Count.EqualTo(2));
        var masks = instances.Get<Tensor>("pred_masks");
        for (var i = 0; i < rles.Count; i++)
        {
            Assert.That(rles[i].EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "size", "counts" }));
            Assert.That(rles[i].GetProperty("size").EnumerateArray().Select(v => v.GetInt32()), Is.EqualTo(new[] { Height, Width }));
            var decoded = Rle.FromCompressedString(rles[i].GetProperty("counts").GetString()!, Height, Width).Decode();
            Assert.That(decoded, Is.EqualTo(InferenceFixtures.MaskBytes(masks, i)));
        }
    }

    [Test]
    public void Model_masks_round_trip_through_the_response()
    {
        using var predictor = InferenceFixtures.TinyPredictor();
        using var instances = predictor.Predict(InferenceFixtures.SyntheticPng(64, 48));
        using var json = JsonDocument.Parse(InstancesJson.ToUtf8Bytes(instances, predictor.ClassNames));
        var rles = json.RootElement.GetProperty("pred_masks_rle").EnumerateArray().ToList();
        Assert.That(rles, Has.Count.EqualTo(instances.Length).And.Count.GreaterThan(0));
        var masks = instances.Get<Tensor>("pred_masks");
        for (var i = 0; i < rles.Count; i++)
            Assert.That(Rle.FromCompressedString(rles[i].GetProperty("counts").GetString()!, 48, 64).Decode(), Is.EqualTo(InferenceFixtures.MaskBytes(masks, i)), $"mask {i}");
    }

    [Test]
    public void Box_only_predictions_have_no_mask_field_and_no_names_unless_given()
    {
        using var instances = InferenceFixtures.Predictions(Height, Width, [[0, 0, 2, 2]], [0.25f], [0]);
        using var json = JsonDocument.Parse(InstancesJson.ToUtf8Bytes(instances));
        Assert.That(json.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "pred_boxes", "scores", "pred_classes", "image_size" }));
    }

    [Test]
    public void No_detections_give_empty_lists()
    {
        using var instances = InferenceFixtures.Predictions(Height, Width, [], [], [], []);
        using var json = JsonDocument.Parse(InstancesJson.ToUtf8Bytes(instances, ["balloon"]));
        foreach (var field in new[] { "pred_boxes", "scores", "pred_classes", "pred_masks_rle", "class_names" })
            Assert.That(json.RootElement.GetProperty(field).GetArrayLength(), Is.Zero, field);
    }
}
