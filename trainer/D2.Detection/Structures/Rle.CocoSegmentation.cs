using System.Text.Json;

namespace D2.Detection.Structures;

/// <summary>The three COCO `segmentation` JSON forms (pycocotools COCO.annToRLE) and the compressed form we write.</summary>
public sealed partial class Rle
{
    /// <summary>
    /// pycocotools annToRLE: a polygon list is rasterised and merged (frPyObjects + merge); <c>{"size":[h,w],"counts":[..]}</c>
    /// is an uncompressed RLE; <c>{"size":[h,w],"counts":"..."}</c> is a compressed RLE taken as is.
    /// </summary>
    /// <param name="segmentation">the annotation's <c>segmentation</c> value</param>
    /// <param name="height">image height, used by polygons and checked against an RLE's size</param>
    /// <param name="width">image width, likewise</param>
    /// <exception cref="FormatException">the value is none of the three forms, or is malformed</exception>
    public static Rle FromCocoSegmentation(JsonElement segmentation, int height, int width)
    {
        switch (segmentation.ValueKind)
        {
            case JsonValueKind.Array:
                return FromPolygonList(segmentation, height, width);
            case JsonValueKind.Object:
                var rle = FromRleObject(segmentation);
                // pycocotools would silently score such a mask -1 against every ground truth; we name the mismatch.
                if (rle.Height != height || rle.Width != width)
                    throw new FormatException(
                        $"Segmentation size [{rle.Height},{rle.Width}] does not match the image size [{height},{width}].");
                return rle;
            default:
                throw new FormatException(
                    $"Segmentation must be a polygon list or an RLE object {{\"size\",\"counts\"}}, not a JSON {segmentation.ValueKind}.");
        }
    }

    /// <summary>Writes <c>{"size":[h,w],"counts":"..."}</c>, the form pycocotools encode() returns and COCO results use.</summary>
    public void WriteCocoSegmentation(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteStartArray("size");
        writer.WriteNumberValue(Height);
        writer.WriteNumberValue(Width);
        writer.WriteEndArray();
        writer.WriteString("counts", ToCompressedString());
        writer.WriteEndObject();
    }

    static Rle FromPolygonList(JsonElement list, int height, int width)
    {
        var polygons = new List<double[]>();
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Array)
                throw new FormatException($"Segmentation polygon {index} must be an array of numbers, not a JSON {item.ValueKind}.");
            var coordinates = new List<double>();
            foreach (var value in item.EnumerateArray())
            {
                if (value.ValueKind != JsonValueKind.Number)
                    throw new FormatException($"Segmentation polygon {index} holds a JSON {value.ValueKind}; coordinates must be numbers.");
                coordinates.Add(value.GetDouble());
            }
            if (coordinates.Count % 2 != 0)
                throw new FormatException($"Segmentation polygon {index} has {coordinates.Count} coordinates; it needs x,y pairs.");
            polygons.Add(coordinates.ToArray());
            index++;
        }
        // pycocotools frPyObjects would fail on an empty list; Detectron2 treats an instance without polygons as empty.
        if (polygons.Count == 0) return FromPolygons([], height, width);
        // frPyObjects decides by the first entry: four numbers mean a list of [x, y, w, h] boxes, not polygons.
        if (polygons[0].Length == 4)
        {
            var boxes = new List<Rle>(polygons.Count);
            for (var i = 0; i < polygons.Count; i++)
            {
                var b = polygons[i];
                if (b.Length != 4)
                    throw new FormatException(
                        $"Segmentation entry 0 has 4 numbers (a box, as pycocotools reads it) but entry {i} has {b.Length}.");
                boxes.Add(FromBbox(b[0], b[1], b[2], b[3], height, width));
            }
            return Merge(boxes);
        }
        return FromPolygons(polygons, height, width);
    }

    static Rle FromRleObject(JsonElement rle)
    {
        if (!rle.TryGetProperty("size", out var size) || !rle.TryGetProperty("counts", out var counts))
            throw new FormatException("An RLE segmentation needs both \"size\" and \"counts\".");
        if (size.ValueKind != JsonValueKind.Array || size.GetArrayLength() != 2
            || size[0].ValueKind != JsonValueKind.Number || size[1].ValueKind != JsonValueKind.Number
            || !size[0].TryGetInt32(out var height) || !size[1].TryGetInt32(out var width) || height < 0 || width < 0)
            throw new FormatException($"RLE \"size\" must be [height, width] as two non-negative integers, not {size.GetRawText()}.");
        switch (counts.ValueKind)
        {
            case JsonValueKind.String:
                return FromCompressedString(counts.GetString()!, height, width);
            case JsonValueKind.Array:
                var runs = new uint[counts.GetArrayLength()];
                var i = 0;
                foreach (var c in counts.EnumerateArray())
                {
                    if (c.ValueKind != JsonValueKind.Number || !c.TryGetUInt32(out runs[i]))
                        throw new FormatException($"Uncompressed RLE count {i} is {c.GetRawText()}; counts must be non-negative integers.");
                    i++;
                }
                try
                {
                    return new Rle(height, width, runs);
                }
                catch (ArgumentException e)
                {
                    throw new FormatException($"Uncompressed RLE is inconsistent: {e.Message}", e);
                }
            default:
                throw new FormatException($"RLE \"counts\" must be a string or an array of integers, not a JSON {counts.ValueKind}.");
        }
    }
}
