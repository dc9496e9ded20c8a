using System.Text;
using System.Text.Json;
using D2.Detection.Structures;

namespace D2.Detection.Tests.Evaluation;

/// <summary>What a synthetic COCO case contains.</summary>
/// <param name="Masks">ground truths get polygons (compressed or uncompressed RLE for some, RLE for crowds) and
/// results get compressed RLE masks of jittered polygons.</param>
/// <param name="ResultBoxes">results carry a bbox (Detectron2 writes both bbox and segmentation); without it the
/// results are masks alone, so areas and boxes come from the masks.</param>
/// <param name="FirstAnnotationId">0 exercises pycocotools' treatment of a ground truth with id 0 (a detection
/// matched to it counts as unmatched).</param>
public sealed record SyntheticCocoOptions(
    int Seed, int Images = 40, bool Masks = false, bool ResultBoxes = true, long FirstAnnotationId = 1, int CrowdPercent = 10);

/// <summary>Deterministic COCO ground truth and results made by code, used for the pycocotools comparisons:
/// non-contiguous image and category ids, images without annotations, crowd regions, areas on the 32²/96² range
/// boundaries, score ties, images with more than 100 detections, detections of a category absent from the ground
/// truth, and (with masks) polygons plus compressed and uncompressed RLE.</summary>
public static class SyntheticCoco
{
    static readonly (long Id, string Name)[] Categories = [(1, "person"), (3, "car"), (7, "train"), (18, "dog"), (90, "toothbrush")];

    public static (string GroundTruth, string Results) Generate(SyntheticCocoOptions options)
    {
        var random = new SplitMix(options.Seed);
        var images = new List<(long Id, int Height, int Width)>();
        for (var i = 0; i < options.Images; i++)
            images.Add((1000 + 7L * i + (i % 3), 60 + random.Next(340), 60 + random.Next(340)));

        var gt = new Utf8JsonBuffer();
        var dt = new Utf8JsonBuffer();
        gt.Writer.WriteStartObject();
        gt.Writer.WriteStartArray("images");
        // Listed newest first: evaluation must order images by id, not by file position.
        foreach (var (id, height, width) in Enumerable.Reverse(images))
        {
            gt.Writer.WriteStartObject();
            gt.Writer.WriteNumber("id", id);
            gt.Writer.WriteNumber("height", height);
            gt.Writer.WriteNumber("width", width);
            gt.Writer.WriteString("file_name", $"{id}.jpg");
            gt.Writer.WriteEndObject();
        }
        gt.Writer.WriteEndArray();
        gt.Writer.WriteStartArray("categories");
        foreach (var (id, name) in Categories)
        {
            gt.Writer.WriteStartObject();
            gt.Writer.WriteNumber("id", id);
            gt.Writer.WriteString("name", name);
            gt.Writer.WriteEndObject();
        }
        gt.Writer.WriteEndArray();

        gt.Writer.WriteStartArray("annotations");
        dt.Writer.WriteStartArray();
        var annotationId = options.FirstAnnotationId;
        for (var i = 0; i < images.Count; i++)
        {
            var (imageId, height, width) = images[i];
            // Every fifth image has no annotations; some of those still get detections (all false positives).
            var objects = i % 5 == 4 ? 0 : 1 + random.Next(7);
            var crowded = i % 11 == 3;
            for (var o = 0; o < objects; o++)
            {
                var category = Categories[random.Next(Categories.Length - 1)].Id;
                var box = RandomBox(random, height, width, boundary: o == 0 && i % 4 == 1 ? 32 : o == 1 && i % 4 == 2 ? 96 : 0);
                var crowd = random.Next(100) < options.CrowdPercent || (crowded && o == 0);
                var polygon = Ellipse(box, 6 + random.Next(10), random);
                gt.Writer.WriteStartObject();
                gt.Writer.WriteNumber("id", annotationId++);
                gt.Writer.WriteNumber("image_id", imageId);
                gt.Writer.WriteNumber("category_id", category);
                WriteNumbers(gt.Writer, "bbox", box);
                // The area field, not the box, decides small/medium/large; boundary boxes keep w*h exactly.
                var area = options.Masks ? Rle.FromPolygon(polygon, height, width).Area() : box[2] * box[3] * (box[2] % 1 == 0 ? 1 : 0.85);
                gt.Writer.WriteNumber("area", area);
                gt.Writer.WriteNumber("iscrowd", crowd ? 1 : 0);
                if (options.Masks)
                {
                    gt.Writer.WritePropertyName("segmentation");
                    var form = crowd ? 1 : random.Next(4);
                    if (form == 0 || form == 3)
                        WritePolygons(gt.Writer, form == 3 ? [polygon, Ellipse(RandomBox(random, height, width, 0), 5, random)] : [polygon]);
                    else
                        WriteRle(gt.Writer, Rle.FromPolygon(polygon, height, width), compressed: form == 2);
                }
                gt.Writer.WriteEndObject();

                // Detections near this object: a good one, sometimes a duplicate, sometimes the wrong category.
                var copies = random.Next(100) < 80 ? 1 + random.Next(2) : 0;
                for (var c = 0; c < copies; c++)
                {
                    var jitter = c == 0 ? 0.08 : 0.3;
                    var moved = Jitter(box, jitter, random, height, width);
                    var detectedCategory = random.Next(100) < 8 ? Categories[random.Next(Categories.Length)].Id : category;
                    WriteDetection(dt.Writer, imageId, detectedCategory, Score(random), moved, options, height, width, random);
                }
            }

            // Background false positives; two images get more than 100 detections (only the best 100 count).
            var noise = i % 13 == 6 ? 130 : i % 17 == 8 ? 115 : random.Next(4);
            for (var n = 0; n < noise; n++)
            {
                var category = Categories[random.Next(Categories.Length)].Id;
                WriteDetection(dt.Writer, imageId, category, Score(random) * 0.9, RandomBox(random, height, width, 0), options, height, width, random);
            }
        }
        gt.Writer.WriteEndArray();
        gt.Writer.WriteEndObject();
        dt.Writer.WriteEndArray();
        return (gt.ToString(), dt.ToString());
    }

    // Scores on a 1/20 grid, so ties across and within images are common.
    static double Score(SplitMix random) => (1 + random.Next(20)) / 20.0;

    static double[] RandomBox(SplitMix random, int height, int width, int boundary)
    {
        if (boundary > 0)
        {
            // Exactly boundary² pixels: area on the small/medium (32²) or medium/large (96²) edge.
            var side = Math.Min(boundary, Math.Min(height, width) - 1);
            return [random.Next(width - side), random.Next(height - side), side, side];
        }
        var w = 2 + random.NextDouble() * (width * 0.6);
        var h = 2 + random.NextDouble() * (height * 0.6);
        return [Math.Round(random.NextDouble() * (width - w), 2), Math.Round(random.NextDouble() * (height - h), 2), Math.Round(w, 2), Math.Round(h, 2)];
    }

    static double[] Jitter(double[] box, double amount, SplitMix random, int height, int width)
    {
        double Move(double value, double scale) => value + (random.NextDouble() * 2 - 1) * amount * scale;
        var x = Math.Clamp(Move(box[0], box[2]), 0, width - 1);
        var y = Math.Clamp(Move(box[1], box[3]), 0, height - 1);
        var w = Math.Clamp(Move(box[2], box[2]), 1, width - x);
        var h = Math.Clamp(Move(box[3], box[3]), 1, height - y);
        return [Math.Round(x, 3), Math.Round(y, 3), Math.Round(w, 3), Math.Round(h, 3)];
    }

    static double[] Ellipse(double[] box, int points, SplitMix random)
    {
        var xy = new double[2 * points];
        for (var p = 0; p < points; p++)
        {
            var angle = 2 * Math.PI * p / points;
            var radius = 0.75 + 0.25 * random.NextDouble();
            xy[2 * p] = Math.Round(box[0] + box[2] / 2 * (1 + radius * Math.Cos(angle)), 2);
            xy[2 * p + 1] = Math.Round(box[1] + box[3] / 2 * (1 + radius * Math.Sin(angle)), 2);
        }
        return xy;
    }

    static void WriteDetection(Utf8JsonWriter writer, long imageId, long category, double score, double[] box,
        SyntheticCocoOptions options, int height, int width, SplitMix random)
    {
        writer.WriteStartObject();
        writer.WriteNumber("image_id", imageId);
        writer.WriteNumber("category_id", category);
        if (options.ResultBoxes)
            WriteNumbers(writer, "bbox", box);
        writer.WriteNumber("score", score);
        if (options.Masks)
        {
            writer.WritePropertyName("segmentation");
            WriteRle(writer, Rle.FromPolygon(Ellipse(box, 5 + random.Next(8), random), height, width), compressed: true);
        }
        writer.WriteEndObject();
    }

    static void WriteNumbers(Utf8JsonWriter writer, string name, double[] values)
    {
        writer.WriteStartArray(name);
        foreach (var value in values)
            writer.WriteNumberValue(value);
        writer.WriteEndArray();
    }

    static void WritePolygons(Utf8JsonWriter writer, IEnumerable<double[]> polygons)
    {
        writer.WriteStartArray();
        foreach (var polygon in polygons)
        {
            writer.WriteStartArray();
            foreach (var value in polygon)
                writer.WriteNumberValue(value);
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
    }

    static void WriteRle(Utf8JsonWriter writer, Rle rle, bool compressed)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("size");
        writer.WriteNumberValue(rle.Height);
        writer.WriteNumberValue(rle.Width);
        writer.WriteEndArray();
        if (compressed)
        {
            writer.WriteString("counts", rle.ToCompressedString());
        }
        else
        {
            writer.WriteStartArray("counts");
            foreach (var count in rle.Counts)
                writer.WriteNumberValue(count);
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    sealed class Utf8JsonBuffer
    {
        readonly MemoryStream _stream = new();

        public Utf8JsonBuffer() => Writer = new Utf8JsonWriter(_stream);

        public Utf8JsonWriter Writer { get; }

        public override string ToString()
        {
            Writer.Flush();
            return Encoding.UTF8.GetString(_stream.ToArray());
        }
    }

    /// <summary>SplitMix64: a fixed generator, so a case is the same on every runtime.</summary>
    sealed class SplitMix(int seed)
    {
        ulong _state = (ulong)seed * 0x9E3779B97F4A7C15UL + 1;

        ulong NextRaw()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public int Next(int bound) => bound <= 0 ? 0 : (int)(NextRaw() % (ulong)bound);

        public double NextDouble() => (NextRaw() >> 11) * (1.0 / (1UL << 53));
    }
}
