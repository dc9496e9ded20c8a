using System.Buffers;
using System.Text.Json;
using D2.Detection.Structures;

namespace D2.Detection.Inference;

/// <summary>
/// The inference response (<c>Accept: application/json</c>) with the original project's field names:
/// <c>pred_boxes</c> [[x1, y1, x2, y2], ...] in input-image pixels, <c>scores</c>, <c>pred_classes</c> (0-based),
/// <c>pred_masks_rle</c> [{"size": [h, w], "counts": "..."}] (COCO compressed RLE, only for models with masks),
/// <c>image_size</c> [h, w]; plus <c>class_names</c>, the name of each detection's class (an added field).
/// </summary>
public static class InstancesJson
{
    public const string ContentType = "application/json";

    /// <summary>Writes the response object for <paramref name="instances"/>.</summary>
    /// <param name="instances">predictions at the input image's size (pred_boxes, scores, pred_classes, optional pred_masks)</param>
    /// <param name="classNames">names by class index; when given, <c>class_names</c> is written</param>
    public static void Write(Utf8JsonWriter writer, Instances instances, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var predictions = PredictionArrays.From(instances);
        writer.WriteStartObject();
        writer.WriteStartArray("pred_boxes");
        for (var i = 0; i < predictions.Count; i++)
        {
            writer.WriteStartArray();
            for (var c = 0; c < 4; c++)
                writer.WriteNumberValue(predictions.Boxes[4 * i + c]);
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
        writer.WriteStartArray("scores");
        foreach (var score in predictions.Scores)
            writer.WriteNumberValue(score);
        writer.WriteEndArray();
        writer.WriteStartArray("pred_classes");
        foreach (var label in predictions.Classes)
            writer.WriteNumberValue(label);
        writer.WriteEndArray();
        if (predictions.HasMasks)
        {
            writer.WriteStartArray("pred_masks_rle");
            for (var i = 0; i < predictions.Count; i++)
                predictions.MaskRle(i).WriteCocoSegmentation(writer);
            writer.WriteEndArray();
        }
        writer.WriteStartArray("image_size");
        writer.WriteNumberValue(predictions.ImageSize.Height);
        writer.WriteNumberValue(predictions.ImageSize.Width);
        writer.WriteEndArray();
        if (classNames is not null)
        {
            writer.WriteStartArray("class_names");
            foreach (var label in predictions.Classes)
                writer.WriteStringValue(ClassName(classNames, label));
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    /// <summary>The response as UTF-8 bytes.</summary>
    public static byte[] ToUtf8Bytes(Instances instances, IReadOnlyList<string>? classNames = null, bool indented = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented }))
            Write(writer, instances, classNames);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The name of class <paramref name="label"/>, or its number when the list does not cover it.</summary>
    internal static string ClassName(IReadOnlyList<string> classNames, long label) =>
        label >= 0 && label < classNames.Count ? classNames[(int)label] : label.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
