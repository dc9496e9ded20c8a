using System.Text.Json;
using SkiaSharp;

namespace D2.Detection.Data.Synthetic;

/// <summary>
/// Writes the annotations of one split twice, in the two formats the catalog reads: a VIA 1.x export
/// (<c>via_region_data.json</c>, shaped like the balloon dataset's) and a COCO instances file (<c>annotations.json</c>).
/// </summary>
internal sealed class SyntheticSplitWriter(string folder)
{
    public const string ViaFileName = "via_region_data.json";
    public const string CocoFileName = "annotations.json";

    readonly List<(string FileName, long Bytes, int Width, int Height, IReadOnlyList<SKPoint[]> Instances)> _images = [];

    public int ImageCount => _images.Count;

    public int InstanceCount => _images.Sum(i => i.Instances.Count);

    public void Add(string fileName, long bytes, int width, int height, IReadOnlyList<SKPoint[]> instances) =>
        _images.Add((fileName, bytes, width, height, instances));

    public void Write(long seed)
    {
        WriteAtomically(Path.Combine(folder, ViaFileName), WriteVia);
        WriteAtomically(Path.Combine(folder, CocoFileName), writer => WriteCoco(writer, seed));
    }

    /// <summary>VIA stores integer pixel indices (the tutorial adds 0.5 to reach pixel centres), keyed by file name + size.</summary>
    void WriteVia(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var image in _images)
        {
            writer.WriteStartObject(image.FileName + image.Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
            writer.WriteString("fileref", "");
            writer.WriteNumber("size", image.Bytes);
            writer.WriteString("filename", image.FileName);
            writer.WriteString("base64_img_data", "");
            writer.WriteStartObject("file_attributes");
            writer.WriteEndObject();
            writer.WriteStartObject("regions");
            for (var i = 0; i < image.Instances.Count; i++)
            {
                var pixels = PixelPolygon(image.Instances[i], image.Width, image.Height);
                writer.WriteStartObject(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                writer.WriteStartObject("shape_attributes");
                writer.WriteString("name", "polygon");
                writer.WriteStartArray("all_points_x");
                foreach (var (x, _) in pixels)
                    writer.WriteNumberValue(x);
                writer.WriteEndArray();
                writer.WriteStartArray("all_points_y");
                foreach (var (_, y) in pixels)
                    writer.WriteNumberValue(y);
                writer.WriteEndArray();
                writer.WriteEndObject();
                writer.WriteStartObject("region_attributes");
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        writer.WriteEndObject();
    }

    /// <summary>The pixel each outline point falls in, repeated neighbours merged.</summary>
    static List<(int X, int Y)> PixelPolygon(SKPoint[] outline, int width, int height)
    {
        var pixels = new List<(int X, int Y)>(outline.Length);
        foreach (var p in outline)
        {
            var pixel = (Math.Clamp((int)Math.Floor(p.X), 0, width - 1), Math.Clamp((int)Math.Floor(p.Y), 0, height - 1));
            if (pixels.Count == 0 || pixels[^1] != pixel)
                pixels.Add(pixel);
        }
        if (pixels.Count > 1 && pixels[0] == pixels[^1])
            pixels.RemoveAt(pixels.Count - 1);
        return pixels;
    }

    /// <summary>COCO: one category "balloon" with id 1, polygons in continuous coordinates (2 decimals), XYWH boxes.</summary>
    void WriteCoco(Utf8JsonWriter writer, long seed)
    {
        writer.WriteStartObject();
        writer.WriteStartObject("info");
        writer.WriteString("description", "Synthetic balloons (d2 synth-balloons)");
        writer.WriteNumber("seed", seed);
        writer.WriteEndObject();
        writer.WriteStartArray("images");
        for (var i = 0; i < _images.Count; i++)
        {
            writer.WriteStartObject();
            writer.WriteNumber("id", i + 1);
            writer.WriteString("file_name", _images[i].FileName);
            writer.WriteNumber("height", _images[i].Height);
            writer.WriteNumber("width", _images[i].Width);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartArray("annotations");
        var annotationId = 0;
        for (var i = 0; i < _images.Count; i++)
        {
            foreach (var outline in _images[i].Instances)
            {
                var xy = outline.SelectMany(p => new[] { Math.Round(p.X, 2), Math.Round(p.Y, 2) }).ToArray();
                var xs = xy.Where((_, k) => k % 2 == 0).ToArray();
                var ys = xy.Where((_, k) => k % 2 == 1).ToArray();
                writer.WriteStartObject();
                writer.WriteNumber("id", ++annotationId);
                writer.WriteNumber("image_id", i + 1);
                writer.WriteNumber("category_id", 1);
                writer.WriteStartArray("segmentation");
                writer.WriteStartArray();
                foreach (var value in xy)
                    writer.WriteNumberValue(value);
                writer.WriteEndArray();
                writer.WriteEndArray();
                writer.WriteNumber("area", Math.Round(ShoelaceArea(xs, ys), 2));
                writer.WriteStartArray("bbox");
                writer.WriteNumberValue(xs.Min());
                writer.WriteNumberValue(ys.Min());
                writer.WriteNumberValue(Math.Round(xs.Max() - xs.Min(), 2));
                writer.WriteNumberValue(Math.Round(ys.Max() - ys.Min(), 2));
                writer.WriteEndArray();
                writer.WriteNumber("iscrowd", 0);
                writer.WriteEndObject();
            }
        }
        writer.WriteEndArray();
        writer.WriteStartArray("categories");
        writer.WriteStartObject();
        writer.WriteNumber("id", 1);
        writer.WriteString("name", "balloon");
        writer.WriteString("supercategory", "balloon");
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    static double ShoelaceArea(double[] xs, double[] ys)
    {
        var twice = 0.0;
        for (int i = 0, j = xs.Length - 1; i < xs.Length; j = i++)
            twice += xs[j] * ys[i] - xs[i] * ys[j];
        return Math.Abs(twice) / 2;
    }

    /// <summary>Written under a temporary name and renamed, so an interrupted run never leaves half a json.</summary>
    static void WriteAtomically(string path, Action<Utf8JsonWriter> write)
    {
        var temporary = path + ".tmp";
        using (var stream = File.Create(temporary))
        using (var writer = new Utf8JsonWriter(stream))
            write(writer);
        File.Move(temporary, path, overwrite: true);
    }
}
