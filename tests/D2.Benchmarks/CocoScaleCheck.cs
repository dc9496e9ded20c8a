using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using D2.Detection.Config;
using D2.Detection.Data;
using D2.Detection.Data.Datasets;
using D2.Detection.Data.Loader;
using SkiaSharp;

namespace D2.Benchmarks;

/// <summary>
/// `coco-scale`: (1) writes an instances_train2017-sized COCO json (118,287 images, 860,001 annotations, ~1% of them
/// crowd regions as uncompressed RLE and the rest one 24-point polygon each; sections in COCO's own order, categories
/// last; made here with a streaming writer, <see cref="CocoScaleJson"/>) and loads it in three fresh processes, so each
/// one's peak resident memory is its own: <see cref="CocoJsonDataset.Load(string, string, string, TextWriter?)"/> (the
/// streaming reader), the document reader it replaced (<c>CocoJsonDataset.LoadWithDocument</c>), and the peer, a bare
/// <see cref="JsonDocument"/> parse of the same file (the floor of any DOM-based loader). The two loaders' records
/// must hash the same. Goal: ≤ 10 s and ≤ 3 GB resident. (2) the training data loader's throughput at COCO sizes
/// (640×480 JPEGs resized to 800–1333 px, flipped, mapped to tensors with masks) on one worker, in images per second.
/// </summary>
internal static class CocoScaleCheck
{
    const int PolygonPoints = CocoScaleJson.PolygonPoints;

    public static int Run()
    {
        var folder = Directory.CreateTempSubdirectory("d2-coco-scale-").FullName;
        try
        {
            var json = Path.Combine(folder, "instances_train2017.json");
            var watch = Stopwatch.StartNew();
            CocoScaleJson.Write(json);
            Console.WriteLine($"wrote {json}: {new FileInfo(json).Length / 1e6:F0} MB, {CocoScaleJson.Images} images, {CocoScaleJson.Annotations} annotations in {watch.Elapsed.TotalSeconds:F1} s");
            Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {CocoScaleJson.MachineMemoryGb():F0} GB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}");

            var peer = CocoScaleJson.Measure("parse", json, folder);
            Console.WriteLine($"peer: JsonDocument.Parse of the file {peer}");
            var document = CocoScaleJson.Measure("document", json, folder);
            Console.WriteLine($"document reader (CocoJsonDataset before streaming): {document}");
            var scan = CocoScaleJson.Measure("scan", json, folder);
            Console.WriteLine($"floor: every token through one Utf8JsonReader, numbers parsed (file read whole) {scan}");
            var oneThread = CocoScaleJson.Measure("stream1", json, folder);
            Console.WriteLine($"streaming reader, one thread: {oneThread}");
            var stream = CocoScaleJson.Measure("stream", json, folder);
            Console.WriteLine($"CocoJsonDataset.Load (streaming, second half of the annotations on a second thread): {stream}");
            var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
            Console.WriteLine($"load average (1 min) {load} on {Environment.ProcessorCount} cores: wall times above count waiting for a core, CPU times do not");
            var same = stream.Digest == document.Digest && oneThread.Digest == document.Digest && stream.Records == document.Records && stream.Instances == document.Instances;
            Console.WriteLine(same
                ? $"streaming and document records are identical (SHA-256 {stream.Digest[..16]}...)"
                : $"streaming and document records DIFFER ({stream.Digest[..16]}... vs {document.Digest[..16]}...)");
            var loadOk = same && stream.Seconds <= 10 && stream.PeakGb <= 3;

            LoaderThroughput(folder);
            Console.WriteLine(loadOk ? "coco-scale: json load within the goal (≤ 10 s, ≤ 3 GB)" : "coco-scale: json load MISSES the goal (≤ 10 s, ≤ 3 GB, records equal to the document reader's)");
            return loadOk ? 0 : 1;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The Base-RCNN-FPN training augmentation (ResizeShortestEdge 640–800, max 1333, flip) over 640×480 JPEGs, one worker.</summary>
    static void LoaderThroughput(string folder)
    {
        const int count = 16;
        var random = new Random(3);
        var records = new List<DatasetRecord>();
        for (var i = 0; i < count; i++)
        {
            var file = Path.Combine(folder, $"loader_{i}.jpg");
            using (var bitmap = new SKBitmap(640, 480))
            {
                using (var canvas = new SKCanvas(bitmap))
                {
                    canvas.Clear(new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
                    using var paint = new SKPaint { Color = SKColors.OrangeRed };
                    for (var k = 0; k < 20; k++)
                        canvas.DrawCircle(random.Next(640), random.Next(480), random.Next(10, 80), paint);
                }
                using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
                File.WriteAllBytes(file, jpeg.ToArray());
            }
            var annotations = Enumerable.Range(0, 7).Select(k =>
            {
                var (cx, cy, r) = (100 + k * 60.0, 240.0, 25.0);
                var polygon = Enumerable.Range(0, PolygonPoints).SelectMany(p => new[] { cx + r * Math.Cos(2 * Math.PI * p / PolygonPoints), cy + r * Math.Sin(2 * Math.PI * p / PolygonPoints) }).ToArray();
                return new DatasetAnnotation([cx - r, cy - r, cx + r, cy + r], k % 3, Polygons: [polygon]);
            }).ToList();
            records.Add(new DatasetRecord(file, 480, 640, i + 1, annotations));
        }
        var cfg = ModelZoo.GetConfig("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml",
            ["SOLVER.IMS_PER_BATCH", "2", "DATALOADER.NUM_WORKERS", "1", "MODEL.DEVICE", "cpu"]);
        using var loader = DetectionDataLoaders.BuildTrainLoader(cfg, records, log: TextWriter.Null);
        using var batches = loader.GetEnumerator();
        const int warmup = 4, measured = 40;
        for (var i = 0; i < warmup; i++)
        {
            batches.MoveNext();
            batches.Current.Dispose();
        }
        var watch = Stopwatch.StartNew();
        var images = 0;
        long pixels = 0;
        for (var i = 0; i < measured; i++)
        {
            batches.MoveNext();
            using var batch = batches.Current;
            images += batch.Count;
            pixels += batch.Sum(input => input.Image.shape[1] * input.Image.shape[2]);
        }
        var perSecond = images / watch.Elapsed.TotalSeconds;
        // 8 GPUs × 16 images per 0.261 s (Detectron2's published R50-FPN 3x speed) = 61 images/s to feed.
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"loader (1 worker, 640x480 JPEG -> {Math.Sqrt(pixels / (double)images * 4 / 3):F0}x{Math.Sqrt(pixels / (double)images * 3 / 4):F0} avg, flip, masks): {perSecond:F1} images/s; "
            + $"16 images per 0.261 s on 8 GPUs needs {16 / 0.261:F0} images/s = {Math.Ceiling(16 / 0.261 / perSecond)} such workers"));
    }
}
