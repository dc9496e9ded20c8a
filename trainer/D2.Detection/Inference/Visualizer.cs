using System.Globalization;
using System.Runtime.InteropServices;
using D2.Detection.Structures;
using SkiaSharp;

namespace D2.Detection.Inference;

/// <summary>
/// Detectron2's Visualizer.draw_instance_predictions as a PNG: per instance, in its own colour, a semi-transparent mask
/// fill with a darker outline, the box, and a "class score%" label on a dark background. Larger instances are drawn
/// first so that smaller ones stay visible on top, as in Detectron2.
/// </summary>
public static class Visualizer
{
    const float MaskAlpha = 0.5f;

    /// <summary>The overlay encoded as PNG.</summary>
    /// <param name="image">the image the predictions were made on (their size)</param>
    /// <param name="instances">pred_boxes, scores, pred_classes and optional pred_masks at the image's size</param>
    /// <param name="classNames">names by class index; the class number is shown when absent</param>
    /// <param name="minScore">instances scoring below it are not drawn (Detectron2's demo: --confidence-threshold 0.5)</param>
    public static byte[] DrawInstancesPng(SKBitmap image, Instances instances, IReadOnlyList<string>? classNames = null, double minScore = 0) =>
        EncodePng(DrawInstances(image, instances, classNames, LabelFont.Default, minScore));

    /// <summary>The overlay as an opaque RGBA bitmap of the image's size; the caller disposes it.</summary>
    public static SKBitmap DrawInstances(SKBitmap image, Instances instances, IReadOnlyList<string>? classNames = null, double minScore = 0) =>
        DrawInstances(image, instances, classNames, LabelFont.Default, minScore);

    /// <summary>The colour of instance <paramref name="index"/>: hues a golden-ratio step apart, so neighbours differ.</summary>
    public static SKColor InstanceColor(int index)
    {
        var hue = (float)(index * 0.6180339887498949 % 1.0 * 360.0);
        return SKColor.FromHsv(hue, 75, 95);
    }

    internal static byte[] EncodePng(SKBitmap bitmap)
    {
        using (bitmap)
        {
            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100)
                ?? throw new InvalidOperationException("SkiaSharp could not encode the overlay as PNG.");
            return data.ToArray();
        }
    }

    internal static SKBitmap DrawInstances(SKBitmap image, Instances instances, IReadOnlyList<string>? classNames, LabelFont labelFont, double minScore = 0)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(instances);
        var (height, width) = (image.Height, image.Width);
        if (instances.ImageSize != (height, width))
            throw new ArgumentException($"The predictions are for a {instances.ImageSize.Width}x{instances.ImageSize.Height} image but the image is {width}x{height}.", nameof(instances));
        var predictions = PredictionArrays.From(instances);
        if (predictions.HasMasks && predictions.MaskSize != (height, width))
            throw new ArgumentException($"pred_masks are {predictions.MaskSize.Width}x{predictions.MaskSize.Height} but the image is {width}x{height}.", nameof(instances));

        // As PIL's convert("RGB") in Detectron2: any alpha is dropped, the output is opaque.
        var pixels = ImagePreprocessor.ReadRgba(image);
        for (var p = 3; p < pixels.Length; p += 4)
            pixels[p] = 255;
        // Colours stay tied to the instance index, so a threshold does not recolour what remains.
        var order = Enumerable.Range(0, predictions.Count).Where(i => predictions.Scores[i] >= (float)minScore) // scores are float32: 0.9 means the float 0.9
            .OrderByDescending(i => BoxArea(predictions.Boxes, i)).ToArray();
        var outline = Math.Max(1, (int)MathF.Round(Math.Min(height, width) / 400f));
        if (predictions.HasMasks)
        {
            foreach (var i in order)
                BlendMask(pixels, predictions.Mask(i), width, height, InstanceColor(i), outline);
        }

        var output = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Marshal.Copy(pixels, 0, output.GetPixels(), pixels.Length);
        using var canvas = new SKCanvas(output);
        var lineWidth = Math.Max(1.5f, MathF.Sqrt((float)height * width) / 400f);
        var fontSize = Math.Max(11f, MathF.Sqrt((float)height * width) / 45f);
        foreach (var i in order)
        {
            var color = InstanceColor(i);
            var box = SKRect.Create(predictions.Boxes[4 * i], predictions.Boxes[4 * i + 1],
                predictions.Boxes[4 * i + 2] - predictions.Boxes[4 * i], predictions.Boxes[4 * i + 3] - predictions.Boxes[4 * i + 1]);
            using (var stroke = new SKPaint { Color = color, Style = SKPaintStyle.Stroke, StrokeWidth = lineWidth, IsAntialias = true })
                canvas.DrawRect(box, stroke);
            var name = classNames is null
                ? predictions.Classes[i].ToString(CultureInfo.InvariantCulture)
                : InstancesJson.ClassName(classNames, predictions.Classes[i]);
            // Detectron2's label: "{class} {score*100:.0f}%".
            DrawLabel(canvas, labelFont, $"{name} {predictions.Scores[i] * 100:F0}%", box, color, fontSize, width, height);
        }
        canvas.Flush();
        return output;
    }

    static float BoxArea(float[] boxes, int i) => (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1]);

    /// <summary>Blends the colour into the mask's pixels and paints its border (pixels with an off neighbour within
    /// <paramref name="outline"/>) in a darker shade, opaque.</summary>
    static void BlendMask(byte[] pixels, byte[] mask, int width, int height, SKColor color, int outline)
    {
        var edge = Darken(color, 0.6f);
        for (var y = 0; y < height; y++)
        {
            var row = y * width;
            for (var x = 0; x < width; x++)
            {
                if (mask[row + x] == 0)
                    continue;
                var p = 4 * (row + x);
                if (IsBorder(mask, width, height, x, y, outline))
                {
                    pixels[p] = edge.Red;
                    pixels[p + 1] = edge.Green;
                    pixels[p + 2] = edge.Blue;
                    continue;
                }
                pixels[p] = Blend(pixels[p], color.Red);
                pixels[p + 1] = Blend(pixels[p + 1], color.Green);
                pixels[p + 2] = Blend(pixels[p + 2], color.Blue);
            }
        }
    }

    static bool IsBorder(byte[] mask, int width, int height, int x, int y, int radius)
    {
        for (var dy = -radius; dy <= radius; dy++)
        {
            for (var dx = -radius; dx <= radius; dx++)
            {
                int nx = x + dx, ny = y + dy;
                // The image border is not a mask border: a mask that touches it stays filled there.
                if (nx < 0 || ny < 0 || nx >= width || ny >= height)
                    continue;
                if (mask[ny * width + nx] == 0)
                    return true;
            }
        }
        return false;
    }

    static byte Blend(byte under, byte over) => (byte)MathF.Round(under * (1 - MaskAlpha) + over * MaskAlpha);

    static SKColor Darken(SKColor color, float factor) =>
        new((byte)(color.Red * factor), (byte)(color.Green * factor), (byte)(color.Blue * factor), color.Alpha);

    static void DrawLabel(SKCanvas canvas, LabelFont labelFont, string text, SKRect box, SKColor color, float fontSize, int width, int height)
    {
        var (textWidth, textHeight) = labelFont.Measure(text, fontSize);
        var padding = MathF.Max(2, fontSize / 6);
        var labelWidth = textWidth + 2 * padding;
        var labelHeight = textHeight + 2 * padding;
        // Above the box when there is room, else just inside its top edge; never past the image's right or bottom edge.
        var left = Math.Clamp(box.Left, 0, Math.Max(0, width - labelWidth));
        var top = box.Top - labelHeight >= 0 ? box.Top - labelHeight : Math.Max(0, box.Top);
        top = Math.Min(top, Math.Max(0, height - labelHeight));
        using (var background = new SKPaint { Color = Darken(color, 0.45f).WithAlpha(210), Style = SKPaintStyle.Fill })
            canvas.DrawRect(SKRect.Create(left, top, labelWidth, labelHeight), background);
        labelFont.Draw(canvas, text, left + padding, top + padding, fontSize, SKColors.White);
    }
}
