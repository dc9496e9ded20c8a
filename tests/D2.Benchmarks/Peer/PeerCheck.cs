using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Benchmarks.Peer;

/// <summary>
/// `peer torchvision [--rounds N] [--rows infer512,infer800,train512] [--artifacts DIR]`: Mask R-CNN R50-FPN here and
/// torchvision's maskrcnn_resnet50_fpn (Debian's python3-torch, a long-lived Python process), alternately in one run on the
/// same generated 480x640 image with 2 threads on both sides. Rows: inference at 512 and 800 px short side (100 detections
/// with pasted masks at 480x640 on both sides) and a training step (batch 2 at 512 px: forward, backward, SGD). Each round
/// runs every row on both sides, the order flipping from round to round, so load on the machine hits both alike; a row's
/// ratio is ours / torchvision within a round, reported as median and min..max over the rounds, with both sides' peak
/// resident memory during the row and the per-stage breakdown (medians).
/// </summary>
internal static class PeerCheck
{
    const int Threads = 2, Seed = 1, Height = 480, Width = 640, TrainBatch = 2;
    const double LearningRate = 1e-4;
    // The goal of issue 19: ours at most 0.8x torchvision's time on every row.
    const double Goal = 0.8;

    static readonly Row[] AllRows = [new("infer512", "inference 512 px", 512, false), new("infer800", "inference 800 px", 800, false), new("train512", "train step 512 px x2", 512, true)];
    static readonly string[] StageOrder = ["preprocess", "backbone", "fpn", "rpn", "box_head", "mask_head", "postprocess", "backward", "optimizer"];

    sealed record Row(string Key, string Title, int ShortSide, bool Training);

    sealed class Samples
    {
        public List<double> Ours { get; } = [];
        public List<double> Peer { get; } = [];
        public List<double> Ratios { get; } = [];
        public long OursPeak, PeerPeak;
        public long OursDetections = -1, PeerDetections = -1;
        public List<IReadOnlyDictionary<string, double>> OursStages { get; } = [];
        public List<IReadOnlyDictionary<string, double>> PeerStages { get; } = [];
    }

    public static int Run(string[] args)
    {
        if (args.Length < 2 || args[1] != "torchvision")
        {
            Console.Error.WriteLine("usage: peer torchvision [--rounds N] [--rows infer512,infer800,train512] [--artifacts DIR]");
            return 2;
        }
        var rounds = int.Parse(Option(args, "--rounds") ?? "5", CultureInfo.InvariantCulture);
        if (rounds < 1)
            throw new ArgumentException("--rounds must be at least 1.");
        var keys = (Option(args, "--rows") ?? string.Join(',', AllRows.Select(r => r.Key))).Split(',', StringSplitOptions.RemoveEmptyEntries);
        var rows = keys.Select(k => AllRows.FirstOrDefault(r => r.Key == k)
            ?? throw new ArgumentException($"Unknown row '{k}': use {string.Join(", ", AllRows.Select(r => r.Key))}.")).ToArray();
        var artifacts = Option(args, "--artifacts") ?? Path.Combine(Environment.CurrentDirectory, "artifacts", "benchmarks");

        if (TorchvisionPeer.EnsureInstalled(Console.Out) is { } reason)
        {
            Console.WriteLine($"SKIPPED peer benchmark: {reason}");
            return 0;
        }

        set_num_threads(Threads);
        manual_seed(Seed);
        var rgb = GenerateImage(Height, Width, Seed);
        var imagePath = Path.Combine(Path.GetTempPath(), $"d2-peer-image-{Environment.ProcessId}.rgb");
        File.WriteAllBytes(imagePath, rgb);
        try
        {
            using var peer = TorchvisionPeer.Launch(Threads, Seed, imagePath, Height, Width, LearningRate);
            using var ours = new OurModel(rgb, Height, Width, LearningRate);
            var machine = $"{Environment.ProcessorCount} logical CPUs, {CpuName()}, load average at start {LoadAverage()}";
            Console.WriteLine($"peer: torch {peer.Setup["torch"]}, torchvision {peer.Setup["torchvision"]}, {peer.Setup["threads"]} threads, " +
                              $"{peer.Setup["trainable"]} trainable parameters; ours: TorchSharp/libtorch {__version__}, {get_num_threads()} threads, " +
                              $"{ours.TrainableParameters} trainable parameters");
            Console.WriteLine($"machine: {machine}; {rounds} rounds after one warm-up round");
            var trainingBatch = rows.Any(r => r.Training) ? ours.TrainingBatch(512, TrainBatch) : [];
            var trainRequest = TrainRequest(trainingBatch);
            var samples = rows.ToDictionary(r => r.Key, _ => new Samples());
            for (var round = 0; round <= rounds; round++)
            {
                foreach (var row in rows)
                {
                    var oursFirst = round % 2 == 0;
                    double oursSeconds = 0, peerSeconds = 0;
                    for (var side = 0; side < 2; side++)
                    {
                        if ((side == 0) == oursFirst)
                            oursSeconds = RunOurs(ours, row, trainingBatch, round > 0 ? samples[row.Key] : null);
                        else
                            peerSeconds = RunPeer(peer, row, trainRequest, round > 0 ? samples[row.Key] : null);
                    }
                    var label = round == 0 ? "warm-up" : $"round {round}";
                    Console.WriteLine($"{label,-8} {row.Title,-22} ours {oursSeconds,7:F3} s  torchvision {peerSeconds,7:F3} s  ratio {oursSeconds / peerSeconds:F2}");
                    if (round > 0)
                        samples[row.Key].Ratios.Add(oursSeconds / peerSeconds);
                    if (round == 0 && !row.Training)
                        Console.WriteLine($"  ours: {ours.Funnel(row.ShortSide)}");
                    if (round == 1 && !row.Training && samples[row.Key].OursDetections != samples[row.Key].PeerDetections)
                        Console.WriteLine($"  WARNING: detection counts differ (ours {samples[row.Key].OursDetections}, torchvision {samples[row.Key].PeerDetections}): the rows do not do the same work.");
                }
            }
            var report = Report(rows, samples, machine, rounds, peer.Setup);
            Console.WriteLine();
            Console.WriteLine(report);
            Directory.CreateDirectory(artifacts);
            var path = Path.Combine(artifacts, "peer-torchvision.md");
            File.WriteAllText(path + ".tmp", report);
            File.Move(path + ".tmp", path, overwrite: true);
            Console.WriteLine($"report: {path}");
            foreach (var input in trainingBatch)
                input.Image.Dispose();
            return 0;
        }
        finally
        {
            File.Delete(imagePath);
        }
    }

    static double RunOurs(OurModel ours, Row row, IReadOnlyList<ModelInput> batch, Samples? samples)
    {
        PeakMemory.Reset();
        double seconds;
        IReadOnlyDictionary<string, double> stages;
        if (row.Training)
        {
            (seconds, stages, _) = ours.Train(batch);
        }
        else
        {
            long detections;
            (seconds, stages, detections) = ours.Infer(row.ShortSide);
            if (samples is not null)
                samples.OursDetections = detections;
        }
        if (samples is not null)
        {
            samples.OursPeak = Math.Max(samples.OursPeak, PeakMemory.Read());
            samples.Ours.Add(seconds);
            samples.OursStages.Add(stages);
        }
        return seconds;
    }

    static double RunPeer(TorchvisionPeer peer, Row row, JsonObject trainRequest, Samples? samples)
    {
        var reply = peer.Send(row.Training ? (JsonObject)trainRequest.DeepClone() : new JsonObject { ["cmd"] = "infer", ["size"] = row.ShortSide });
        var seconds = reply["seconds"]!.GetValue<double>();
        if (samples is null && !row.Training)
            Console.WriteLine($"  torchvision: proposals: {reply["proposals"]}; detections: {reply["detections"]}");
        if (samples is not null)
        {
            samples.PeerPeak = Math.Max(samples.PeerPeak, reply["peak_rss"]!.GetValue<long>());
            if (!row.Training)
                samples.PeerDetections = reply["detections"]!.GetValue<long>();
            samples.Peer.Add(seconds);
            samples.PeerStages.Add(TorchvisionPeer.Stages(reply));
        }
        return seconds;
    }

    static JsonObject TrainRequest(IReadOnlyList<ModelInput> batch)
    {
        if (batch.Count == 0)
            return [];
        var (height, width) = ((int)batch[0].Image.shape[1], (int)batch[0].Image.shape[2]);
        var (boxes, classes, polygons) = OurModel.TrainingTargets(height, width);
        return new JsonObject
        {
            ["cmd"] = "train", ["size"] = height, ["width"] = width, ["batch"] = batch.Count,
            ["boxes"] = new JsonArray([.. boxes.Select(b => (JsonNode)new JsonArray([.. b.Select(v => (JsonNode)v)]))]),
            ["classes"] = new JsonArray([.. classes.Select(c => (JsonNode)c)]),
            ["polygons"] = new JsonArray([.. polygons.Select(p => (JsonNode)new JsonArray([.. p.Select(v => (JsonNode)v)]))]),
        };
    }

    static string Report(IReadOnlyList<Row> rows, IReadOnlyDictionary<string, Samples> samples, string machine, int rounds, JsonObject setup)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## Mask R-CNN R50-FPN: ours / torchvision {setup["torchvision"]} (torch {setup["torch"]}), same run, {Threads} threads");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Machine: {machine}. {rounds} alternating rounds; a ratio is ours / torchvision within one round. Absolute times vary between machines and with load.");
        text.AppendLine();
        text.AppendLine("| row | ours (median s) | torchvision (median s) | ratio median | ratio min..max | goal <= 0.8 | peak RSS ours | peak RSS torchvision | detections ours / torchvision |");
        text.AppendLine("|---|---:|---:|---:|---:|---|---:|---:|---:|");
        foreach (var row in rows)
        {
            var s = samples[row.Key];
            var ratio = Median(s.Ratios);
            var detections = row.Training ? "-" : $"{s.OursDetections} / {s.PeerDetections}";
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {row.Title} | {Median(s.Ours):F3} | {Median(s.Peer):F3} | {ratio:F2} | {s.Ratios.Min():F2}..{s.Ratios.Max():F2} | {(ratio <= Goal ? "met" : "not met")} | {s.OursPeak / 1048576.0:F0} MiB | {s.PeerPeak / 1048576.0:F0} MiB | {detections} |");
        }
        foreach (var row in rows)
        {
            var s = samples[row.Key];
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"### Stages, {row.Title} (median ms over rounds)");
            text.AppendLine();
            text.AppendLine("| stage | ours | torchvision | ratio |");
            text.AppendLine("|---|---:|---:|---:|");
            // Stages in pipeline order, each followed by its parts ("rpn.head": inside "rpn", not added to "other").
            var all = s.OursStages.Concat(s.PeerStages).SelectMany(d => d.Keys).Distinct().ToList();
            var top = StageOrder.Where(all.Contains).Concat(all.Where(n => !n.Contains('.') && !StageOrder.Contains(n)));
            foreach (var name in top.SelectMany(t => all.Where(n => n.StartsWith(t + ".", StringComparison.Ordinal)).Order().Prepend(t)).Append("other"))
            {
                var ours = StageMedian(s.OursStages, s.Ours, name);
                var peer = StageMedian(s.PeerStages, s.Peer, name);
                // A part one side does not time (ours splits the ROI heads only in inference) shows as "-", not as 0.
                var oursTimed = name == "other" || s.OursStages.Any(d => d.ContainsKey(name));
                var peerTimed = name == "other" || s.PeerStages.Any(d => d.ContainsKey(name));
                var label = name.Contains('.') ? $"&nbsp;&nbsp;{name}" : name;
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {label} | {(oursTimed ? (ours * 1000).ToString("F1", CultureInfo.InvariantCulture) : "-")} | {(peerTimed ? (peer * 1000).ToString("F1", CultureInfo.InvariantCulture) : "-")} | {(oursTimed && peerTimed && peer > 0 ? (ours / peer).ToString("F2", CultureInfo.InvariantCulture) : "-")} |");
            }
        }
        return text.ToString();
    }

    /// <summary>A stage's median seconds; "other" is each round's total minus its stages (glue between the stages).</summary>
    static double StageMedian(List<IReadOnlyDictionary<string, double>> stages, List<double> totals, string name) =>
        Median(stages.Select((d, i) => name == "other" ? totals[i] - d.Where(p => !p.Key.Contains('.')).Sum(p => p.Value) : d.GetValueOrDefault(name)).ToList());

    static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>A deterministic 480x640 RGB picture: a gradient, coloured ellipses and rectangles, mild noise.</summary>
    static byte[] GenerateImage(int height, int width, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[height * width * 3];
        var shapes = Enumerable.Range(0, 12).Select(_ => (X: random.Next(width), Y: random.Next(height), Rx: 20 + random.Next(120), Ry: 20 + random.Next(100),
            Ellipse: random.Next(2) == 0, Color: new[] { random.Next(256), random.Next(256), random.Next(256) })).ToArray();
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                int[] color = [x * 255 / width, y * 255 / height, 128];
                foreach (var s in shapes)
                {
                    double dx = (x - s.X) / (double)s.Rx, dy = (y - s.Y) / (double)s.Ry;
                    if (s.Ellipse ? dx * dx + dy * dy <= 1 : Math.Abs(dx) <= 1 && Math.Abs(dy) <= 1)
                        color = s.Color;
                }
                for (var c = 0; c < 3; c++)
                    pixels[(y * width + x) * 3 + c] = (byte)Math.Clamp(color[c] + random.Next(-12, 13), 0, 255);
            }
        return pixels;
    }

    static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    static string CpuName() =>
        File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU" : "unknown CPU";

    static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}

/// <summary>The process's peak resident memory (VmHWM), resettable per row through /proc/self/clear_refs (Linux).</summary>
internal static class PeakMemory
{
    public static void Reset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not Linux, or not allowed: the peak is then the process's lifetime peak.
        }
    }

    public static long Read()
    {
        if (!File.Exists("/proc/self/status"))
            return Environment.WorkingSet;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? Environment.WorkingSet : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
