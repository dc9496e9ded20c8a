using System.Text;
using System.Text.Json;
using SkiaSharp;

namespace D2.Operations.Pipeline;

/// <summary>
/// The smoke test of a fresh deployment: one image through InvokeEndpoint, and the answer must be the inference
/// response the architecture fixes (pred_boxes [[x1,y1,x2,y2]], scores, pred_classes of one length, image_size [h,w]).
/// An empty detection list is fine (a barely trained model finds nothing); a wrong shape is not.
/// </summary>
public static class SmokeCheck
{
    /// <summary>A small generated JPEG (a red ellipse on grey, 96x64), used when the caller gives no image.</summary>
    public static byte[] DefaultImage()
    {
        using var bitmap = new SKBitmap(96, 64);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(128, 128, 128));
            using var paint = new SKPaint { Color = new SKColor(220, 30, 30), IsAntialias = true };
            canvas.DrawOval(new SKRect(24, 12, 72, 52), paint);
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }

    /// <summary>image/jpeg or image/png from the file's first bytes (what the serving container accepts).</summary>
    public static string ContentTypeOf(ReadOnlySpan<byte> image) =>
        image.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G']) ? "image/png"
        : image.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8]) ? "image/jpeg"
        : throw new ArgumentException("The smoke image is neither a JPEG nor a PNG.", nameof(image));

    /// <summary>Null when the body is a valid inference response, else what is wrong with it.</summary>
    public static string? Problem(ReadOnlySpan<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException e)
        {
            return $"the response is not JSON ({e.Message}): {Preview(body)}";
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return $"the response is not a JSON object: {Preview(body)}";
            var missing = new[] { "pred_boxes", "scores", "pred_classes", "image_size" }.Where(f => !root.TryGetProperty(f, out _)).ToList();
            if (missing.Count > 0)
                return $"the response lacks {string.Join(", ", missing)}: {Preview(body)}";
            if (Array(root, "image_size") is not { } size || size.Count != 2 || size.Any(e => e.ValueKind != JsonValueKind.Number))
                return "image_size is not [height, width]";
            var boxes = Array(root, "pred_boxes");
            var scores = Array(root, "scores");
            var classes = Array(root, "pred_classes");
            if (boxes is null || scores is null || classes is null)
                return "pred_boxes, scores and pred_classes must be arrays";
            if (boxes.Count != scores.Count || scores.Count != classes.Count)
                return $"pred_boxes ({boxes.Count}), scores ({scores.Count}) and pred_classes ({classes.Count}) differ in length";
            if (boxes.Any(b => b.ValueKind != JsonValueKind.Array || b.GetArrayLength() != 4))
                return "a pred_boxes entry is not [x1, y1, x2, y2]";
            if (scores.Any(s => s.ValueKind != JsonValueKind.Number) || classes.Any(c => c.ValueKind != JsonValueKind.Number))
                return "scores and pred_classes must hold numbers";
            return null;
        }
    }

    private static List<JsonElement>? Array(JsonElement root, string name) =>
        root.GetProperty(name) is { ValueKind: JsonValueKind.Array } array ? [.. array.EnumerateArray()] : null;

    private static string Preview(ReadOnlySpan<byte> body)
    {
        var text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, 200)]);
        return body.Length > 200 ? text + "..." : text;
    }
}
