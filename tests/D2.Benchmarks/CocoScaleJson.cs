using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using D2.Detection.Data;
using D2.Detection.Data.Datasets;

namespace D2.Benchmarks;

/// <summary>The COCO-sized json of the coco-scale check, and its loads, each in a fresh process (`coco-scale-load`).</summary>
internal static class CocoScaleJson
{
    public const int Images = 118_287;
    public const int Annotations = 860_001;
    public const int PolygonPoints = 24;

    /// <summary>COCO train2017 has 1% crowd annotations (uncompressed RLE); every 100th one here.</summary>
    const int CrowdEvery = 100;

    /// <summary>One load's figures, as the child process prints them.</summary>
    public sealed record Result(double Seconds, double ResidentGb, double PeakGb, double ManagedGb, int Records, long Instances, string Digest,
        double CpuSeconds, double GcPauseSeconds)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Seconds:F1} s wall, {CpuSeconds:F1} s CPU (GC pauses {GcPauseSeconds:F1} s); resident after load (result held) {ResidentGb:F2} GB, process peak {PeakGb:F2} GB, managed heap {ManagedGb:F2} GB; {Records} records, {Instances} instances");
    }

    /// <summary>COCO's shape and section order (info, licenses, images, annotations, categories), 80 categories with
    /// ids 1..90 with gaps, 640×480 images, the image and annotation fields COCO's own file has.</summary>
    public static void Write(string path)
    {
        var random = new Random(2017);
        var categoryIds = Enumerable.Range(1, 90).Where(id => id % 9 != 0 || id > 81).Take(80).ToArray();
        using var stream = File.Create(path);
        using var writer = new Utf8JsonWriter(stream);
        writer.WriteStartObject();
        writer.WriteStartObject("info");
        writer.WriteString("description", "COCO-sized synthetic dataset (D2.Benchmarks coco-scale)");
        writer.WriteNumber("year", 2017);
        writer.WriteEndObject();
        writer.WriteStartArray("licenses");
        writer.WriteStartObject();
        writer.WriteNumber("id", 1);
        writer.WriteString("name", "Attribution License");
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteStartArray("images");
        for (var i = 1; i <= Images; i++)
        {
            writer.WriteStartObject();
            writer.WriteNumber("license", 1);
            writer.WriteString("file_name", $"{i:D12}.jpg");
            writer.WriteString("coco_url", $"http://images.cocodataset.org/train2017/{i:D12}.jpg");
            writer.WriteNumber("height", 480);
            writer.WriteNumber("width", 640);
            writer.WriteString("date_captured", "2013-11-14 11:18:45");
            writer.WriteNumber("id", i);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartArray("annotations");
        for (var a = 1; a <= Annotations; a++)
        {
            var (cx, cy, r) = (40 + random.NextDouble() * 560, 40 + random.NextDouble() * 400, 5 + random.NextDouble() * 35);
            var crowd = a % CrowdEvery == 0;
            writer.WriteStartObject();
            writer.WritePropertyName("segmentation");
            if (crowd)
                WriteRectangleRle(writer, (int)(cx - r), (int)(cy - r), (int)(2 * r), (int)(2 * r));
            else
            {
                writer.WriteStartArray();
                writer.WriteStartArray();
                for (var p = 0; p < PolygonPoints; p++)
                {
                    var angle = 2 * Math.PI * p / PolygonPoints;
                    writer.WriteNumberValue(Math.Round(cx + r * Math.Cos(angle), 2));
                    writer.WriteNumberValue(Math.Round(cy + r * Math.Sin(angle), 2));
                }
                writer.WriteEndArray();
                writer.WriteEndArray();
            }
            writer.WriteNumber("area", Math.Round(Math.PI * r * r, 2));
            writer.WriteNumber("iscrowd", crowd ? 1 : 0);
            writer.WriteNumber("image_id", 1 + (a - 1) % Images);
            writer.WriteStartArray("bbox");
            foreach (var v in new[] { cx - r, cy - r, 2 * r, 2 * r })
                writer.WriteNumberValue(Math.Round(v, 2));
            writer.WriteEndArray();
            writer.WriteNumber("category_id", categoryIds[a % categoryIds.Length]);
            writer.WriteNumber("id", a);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteStartArray("categories");
        foreach (var id in categoryIds)
        {
            writer.WriteStartObject();
            writer.WriteString("supercategory", "thing");
            writer.WriteNumber("id", id);
            writer.WriteString("name", $"class_{id}");
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>An uncompressed RLE of a w×h rectangle at (x, y) in a 480×640 image (column-major runs, as COCO's crowd regions).</summary>
    static void WriteRectangleRle(Utf8JsonWriter writer, int x, int y, int w, int h)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("size");
        writer.WriteNumberValue(480);
        writer.WriteNumberValue(640);
        writer.WriteEndArray();
        writer.WriteStartArray("counts");
        writer.WriteNumberValue(x * 480 + y);
        for (var column = 0; column < w; column++)
        {
            writer.WriteNumberValue(h);
            writer.WriteNumberValue(column == w - 1 ? 480 * 640 - (x + w - 1) * 480 - y - h : 480 - h);
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Runs one load in a fresh process, so its peak resident memory is its own.</summary>
    public static Result Measure(string mode, string json, string imageRoot)
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            start.ArgumentList.Add(typeof(CocoScaleJson).Assembly.Location);
        foreach (var argument in new[] { "coco-scale-load", mode, json, imageRoot })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
            throw new InvalidOperationException($"coco-scale-load {mode} failed (exit {process.ExitCode}): {output}{error.Result}");
        var f = line.Split(' ');
        double D(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
        return new Result(D(1), D(2), D(3), D(4), int.Parse(f[5], CultureInfo.InvariantCulture), long.Parse(f[6], CultureInfo.InvariantCulture), f[7], D(8), D(9));
    }

    /// <summary>The child: loads once, then reports time, memory with the result still held, and a hash of the records.</summary>
    public static int RunChild(string mode, string json, string imageRoot)
    {
        using var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var pauseBefore = GC.GetTotalPauseDuration();
        var watch = Stopwatch.StartNew();
        JsonDocument? document = null;
        List<DatasetRecord>? records = null;
        DatasetMetadata? metadata = null;
        switch (mode)
        {
            case "parse":
                document = JsonDocument.Parse(File.ReadAllBytes(json));
                break;
            case "document":
                (records, metadata) = CocoJsonDataset.LoadWithDocument(json, imageRoot, "coco_2017_train", TextWriter.Null);
                break;
            case "stream1":
                // One thread: the streaming pass without its second-half reader.
                (records, metadata) = CocoJsonDataset.TryLoadStreaming(json, imageRoot, "coco_2017_train", TextWriter.Null, splitFrom: long.MaxValue)!.Value;
                break;
            case "scan":
                Scan(json);
                break;
            case "stream":
                (records, metadata) = CocoJsonDataset.Load(json, imageRoot, "coco_2017_train", TextWriter.Null);
                break;
            default:
                throw new ArgumentException($"unknown mode {mode}");
        }
        var seconds = watch.Elapsed.TotalSeconds;
        self.Refresh();
        var cpu = (self.TotalProcessorTime - cpuBefore).TotalSeconds;
        var pause = (GC.GetTotalPauseDuration() - pauseBefore).TotalSeconds;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        self.Refresh();
        var (resident, peak, managed) = (self.WorkingSet64 / 1e9, self.PeakWorkingSet64 / 1e9, GC.GetTotalMemory(false) / 1e9);
        var instances = records?.Sum(r => (long)r.Annotations.Count) ?? document?.RootElement.GetProperty("annotations").GetArrayLength() ?? 0;
        var digest = records is null ? "-" : Digest(records, metadata!);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT {seconds:F3} {resident:F3} {peak:F3} {managed:F3} {records?.Count ?? 0} {instances} {digest} {cpu:F3} {pause:F3}"));
        GC.KeepAlive(document);
        document?.Dispose();
        return 0;
    }

    /// <summary>Every token of the file through <see cref="Utf8JsonReader"/>, numbers parsed: the floor of any streaming loader.</summary>
    static void Scan(string json)
    {
        var bytes = File.ReadAllBytes(json);
        var reader = new Utf8JsonReader(bytes);
        var sum = 0.0;
        while (reader.Read())
            if (reader.TokenType == JsonTokenType.Number)
                sum += reader.GetDouble();
        GC.KeepAlive(sum);
    }

    /// <summary>SHA-256 over everything a record holds (file, size, id; per instance class, crowd, box, polygons, RLE).</summary>
    static string Digest(List<DatasetRecord> records, DatasetMetadata metadata)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Add<T>(ReadOnlySpan<T> values) where T : struct => hash.AppendData(MemoryMarshal.AsBytes(values));
        foreach (var name in metadata.ThingClasses)
            hash.AppendData(Encoding.UTF8.GetBytes(name));
        foreach (var record in records)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(record.FileName));
            Add<long>([record.ImageId, record.Height, record.Width, record.Annotations.Count]);
            foreach (var annotation in record.Annotations)
            {
                Add<int>([annotation.CategoryId, annotation.IsCrowd ? 1 : 0, annotation.Polygons?.Count ?? -1]);
                Add<double>(annotation.BboxXyxy);
                foreach (var polygon in annotation.Polygons ?? [])
                    Add<double>(polygon);
                if (annotation.Mask is { } mask)
                    Add<uint>([(uint)mask.Height, (uint)mask.Width, .. mask.Counts]);
            }
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    public static double MachineMemoryGb()
    {
        var line = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)) : null;
        return line is null ? double.NaN : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0 / 1024.0;
    }
}
