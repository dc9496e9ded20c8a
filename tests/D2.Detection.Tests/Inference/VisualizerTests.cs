using D2.Detection.Inference;
using SkiaSharp;

namespace D2.Detection.Tests.Inference;

/// <summary>The PNG overlay: original size, tinted masks with outlines, boxes and readable labels.</summary>
public class VisualizerTests
{
    const int Height = 60, Width = 80;
    static readonly SKColor Grey = new(100, 100, 100);

    static SKBitmap GreyImage()
    {
        var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        bitmap.Erase(Grey);
        return bitmap;
    }

    /// <summary>One detection: box (40, 20)-(70, 50) with the same rectangle as its mask.</summary>
    static D2.Detection.Structures.Instances OneDetection() => InferenceFixtures.Predictions(Height, Width,
        [[40, 20, 70, 50]], [0.9f], [1], [InferenceFixtures.RectangleMask(Height, Width, 40, 20, 70, 50)]);

    [Test]
    public void Png_decodes_to_the_original_size_with_the_mask_tinted_and_the_rest_untouched()
    {
        using var image = GreyImage();
        using var instances = OneDetection();
        var png = Visualizer.DrawInstancesPng(image, instances, ["balloon", "kite"]);
        Assert.That(png[..8], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }));
        using var decoded = SKBitmap.Decode(png);
        Assert.That((decoded.Width, decoded.Height), Is.EqualTo((Width, Height)));

        // Inside the mask, away from its outline, box and label: half grey, half the instance colour.
        var color = Visualizer.InstanceColor(0);
        var inside = decoded.GetPixel(55, 40);
        Assert.That(inside.Red, Is.EqualTo((100 + color.Red) / 2.0).Within(1));
        Assert.That(inside.Green, Is.EqualTo((100 + color.Green) / 2.0).Within(1));
        Assert.That(inside.Blue, Is.EqualTo((100 + color.Blue) / 2.0).Within(1));
        Assert.That(decoded.GetPixel(10, 45), Is.EqualTo(Grey), "far from the detection nothing changes");
        Assert.That(decoded.GetPixel(40, 35), Is.Not.EqualTo(Grey), "the box edge is drawn");
    }

    [Test]
    public void Instances_below_the_minimum_score_are_not_drawn()
    {
        using var image = GreyImage();
        using var instances = OneDetection(); // score 0.9
        using var hidden = Visualizer.DrawInstances(image, instances, ["balloon", "kite"], minScore: 0.95);
        Assert.That(Enumerable.Range(0, hidden.Height).SelectMany(y => Enumerable.Range(0, hidden.Width).Select(x => hidden.GetPixel(x, y))),
            Has.All.EqualTo(Grey), "nothing drawn above 0.9");
        using var shown = Visualizer.DrawInstances(image, instances, ["balloon", "kite"], minScore: 0.9);
        Assert.That(shown.GetPixel(40, 35), Is.Not.EqualTo(Grey), "a score equal to the minimum is drawn");
    }

    [Test]
    public void Label_is_drawn_with_the_built_in_font_when_no_font_is_installed()
    {
        using var image = GreyImage();
        using var instances = OneDetection();
        using var drawn = Visualizer.DrawInstances(image, instances, ["balloon", "kite"], LabelFont.Builtin);
        // The label "kite 90%" sits above the box (rows 0..19): white text on a dark background.
        var labelPixels = Enumerable.Range(0, 20).SelectMany(y => Enumerable.Range(40, 40).Select(x => drawn.GetPixel(x, y))).ToList();
        Assert.That(labelPixels.Count(p => p == SKColors.White), Is.GreaterThan(20));
        Assert.That(labelPixels.Count(p => p.Red + p.Green + p.Blue < 250), Is.GreaterThan(20), "darker than the grey image");
    }

    [Test]
    public void System_font_or_fallback_draws_the_label()
    {
        using var image = GreyImage();
        using var instances = OneDetection();
        using var drawn = Visualizer.DrawInstances(image, instances, ["balloon", "kite"]);
        var labelPixels = Enumerable.Range(0, 20).SelectMany(y => Enumerable.Range(40, 40).Select(x => drawn.GetPixel(x, y))).ToList();
        Assert.That(labelPixels.Count(p => p.Red > 200 && p.Green > 200 && p.Blue > 200), Is.GreaterThan(10), $"label font: {LabelFont.Default}");
    }

    [Test]
    public void Model_predictions_draw_on_a_decoded_image()
    {
        using var predictor = InferenceFixtures.TinyPredictor();
        var png = InferenceFixtures.SyntheticPng(Width, Height);
        using var image = predictor.DecodeImage(png);
        using var instances = predictor.Predict(image);
        using var decoded = SKBitmap.Decode(Visualizer.DrawInstancesPng(image, instances, predictor.ClassNames));
        Assert.That((decoded.Width, decoded.Height), Is.EqualTo((Width, Height)));
    }

    [Test]
    public void Predictions_for_another_image_size_are_rejected()
    {
        using var image = new SKBitmap(new SKImageInfo(Width + 1, Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var instances = OneDetection();
        Assert.That(() => Visualizer.DrawInstancesPng(image, instances), Throws.ArgumentException.With.Message.Contains("80x60"));
    }

    [Test]
    public void Neighbouring_instances_get_distinct_colours()
    {
        var colors = Enumerable.Range(0, 12).Select(Visualizer.InstanceColor).ToList();
        Assert.That(colors, Is.Unique);
        for (var i = 1; i < colors.Count; i++)
        {
            var distance = Math.Abs(colors[i].Red - colors[i - 1].Red) + Math.Abs(colors[i].Green - colors[i - 1].Green) + Math.Abs(colors[i].Blue - colors[i - 1].Blue);
            Assert.That(distance, Is.GreaterThan(100), $"colours {i - 1} and {i}");
        }
    }
}
