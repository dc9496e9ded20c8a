using System.Text.Json;
using D2.Detection.Structures;

namespace D2.Detection.Evaluation;

/// <summary>A COCO <c>segmentation</c> value kept as written (polygon list, uncompressed RLE
/// <c>{"size","counts":[..]}</c> or compressed RLE <c>{"size","counts":"..."}</c>) and rasterised only when segm
/// evaluation needs it, through <see cref="Rle.FromCocoSegmentation"/> (pycocotools' annToRLE).</summary>
public sealed class CocoSegmentation
{
    readonly JsonElement _value;

    CocoSegmentation(JsonElement value) => _value = value;

    /// <summary>From the JSON text of a segmentation value.</summary>
    public static CocoSegmentation FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        return From(document.RootElement.Clone(), json);
    }

    /// <summary>A polygon list [[x0, y0, x1, y1, ...], ...].</summary>
    public static CocoSegmentation FromPolygons(IEnumerable<IReadOnlyList<double>> polygons) =>
        FromJson(JsonSerializer.Serialize(polygons.Select(p => p.ToArray())));

    /// <summary>An RLE, compressed (<c>"counts": "..."</c>, as Detectron2 writes results) or uncompressed (a list of runs).</summary>
    public static CocoSegmentation FromRle(Rle rle, bool compressed = true)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (compressed)
            {
                rle.WriteCocoSegmentation(writer);
            }
            else
            {
                writer.WriteStartObject();
                writer.WriteStartArray("size");
                writer.WriteNumberValue(rle.Height);
                writer.WriteNumberValue(rle.Width);
                writer.WriteEndArray();
                writer.WriteStartArray("counts");
                foreach (var count in rle.Counts)
                    writer.WriteNumberValue(count);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
        }
        return FromJson(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    internal static CocoSegmentation Read(JsonElement element, CocoJson json, string where) =>
        element.ValueKind is JsonValueKind.Array or JsonValueKind.Object
            ? new CocoSegmentation(element.Clone())
            : throw json.Error($"{where} must be a polygon list or an RLE object {{\"size\", \"counts\"}}, found {CocoJson.Describe(element)}");

    static CocoSegmentation From(JsonElement element, string text) =>
        element.ValueKind is JsonValueKind.Array or JsonValueKind.Object
            ? new CocoSegmentation(element)
            : throw new FormatException($"A segmentation must be a polygon list or an RLE object, not {text}.");

    /// <summary>The mask on an image of the given size (pycocotools' annToRLE).</summary>
    /// <exception cref="FormatException">malformed, or an RLE whose size is not the image's.</exception>
    public Rle ToRle(int imageHeight, int imageWidth) => Rle.FromCocoSegmentation(_value, imageHeight, imageWidth);

    public override string ToString() => _value.GetRawText();
}
