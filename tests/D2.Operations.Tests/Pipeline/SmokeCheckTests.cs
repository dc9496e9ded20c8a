using System.Text;
using D2.Operations.Pipeline;
using SkiaSharp;

namespace D2.Operations.Tests.Pipeline;

public class SmokeCheckTests
{
    private static string? Problem(string json) => SmokeCheck.Problem(Encoding.UTF8.GetBytes(json));

    [Test]
    public void Inference_response_with_and_without_detections_passes()
    {
        Assert.That(Problem("""{"pred_boxes":[[1,2,3,4]],"scores":[0.5],"pred_classes":[0],"pred_masks_rle":[],"image_size":[64,96],"class_names":["balloon"]}"""), Is.Null);
        Assert.That(Problem("""{"pred_boxes":[],"scores":[],"pred_classes":[],"image_size":[64,96]}"""), Is.Null);
    }

    [TestCase("not json", "not JSON")]
    [TestCase("[1,2]", "not a JSON object")]
    [TestCase("""{"length":3,"model":[]}""", "lacks pred_boxes, scores, pred_classes, image_size")]
    [TestCase("""{"pred_boxes":[[1,2,3,4]],"scores":[],"pred_classes":[0],"image_size":[64,96]}""", "differ in length")]
    [TestCase("""{"pred_boxes":[[1,2,3]],"scores":[0.1],"pred_classes":[0],"image_size":[64,96]}""", "[x1, y1, x2, y2]")]
    [TestCase("""{"pred_boxes":[],"scores":[],"pred_classes":[],"image_size":[64]}""", "image_size")]
    public void Wrong_shapes_are_named(string json, string expected) => Assert.That(Problem(json), Does.Contain(expected));

    [Test]
    public void Default_image_is_a_small_jpeg()
    {
        var image = SmokeCheck.DefaultImage();
        Assert.That(SmokeCheck.ContentTypeOf(image), Is.EqualTo("image/jpeg"));
        using var bitmap = SKBitmap.Decode(image);
        Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((96, 64)));
        Assert.Throws<ArgumentException>(() => SmokeCheck.ContentTypeOf("GIF89a"u8));
    }
}
