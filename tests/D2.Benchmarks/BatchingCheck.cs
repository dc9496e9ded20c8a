using System.Diagnostics;
using System.Globalization;
using D2.Detection;
using D2.Detection.Config;
using D2.Detection.Data.Synthetic;
using D2.Detection.Inference;
using D2.Detection.Modeling;

namespace D2.Benchmarks;

/// <summary>
/// `batching`: where a batched forward pass spends its time against the same images one by one, in one process, on one
/// thread (as the server's model thread), under the server's malloc settings: the serving bench's model (the reduced demo
/// config at 120x160, random weights, 100 detections per image), one preprocessed image, then alternately 8 single
/// forward passes and one PredictBatch of the same image 8 times (also batch 2 and 4), each split by GeneralizedRCNN's
/// stages (<see cref="StageProfile"/>) with the minor page faults of the process around it. `batching 1` runs the same
/// with one libtorch thread (is a batch any cheaper per image when no second core is shared?). Medians over rounds.
/// </summary>
internal static class BatchingCheck
{
    static readonly int Rounds = int.TryParse(Environment.GetEnvironmentVariable("D2_BENCH_BATCHING_ROUNDS"), out var n) && n > 0 ? n : 12;
    static readonly int[] BatchSizes = [2, 4, 8];

    public static int Run(string[] args)
    {
        Console.WriteLine($"benchmark process: {NativeAllocator.KeepFreedMemory()}");
        if (args is [_, "layers", ..])
        {
            var layers = new Thread(MaskHeadLayers) { Name = "batching check" };
            layers.Start();
            layers.Join();
            return 0;
        }
        var root = Directory.CreateTempSubdirectory("d2-batchingcheck-").FullName;
        try
        {
            var bytes = ServingBenchModel.Write(root, "batchingcheck");
            using var predictor = Predictor.FromModelDirectory(Path.Combine(root, "model"), "cpu", warmUp: false);
            int? threads = args.Length > 1 && int.TryParse(args[1], CultureInfo.InvariantCulture, out var t) ? t : null;
            // A thread of its own, as the server's model thread: libtorch's OpenMP state is per calling thread.
            var worker = new Thread(() => Measure(predictor, bytes, threads)) { Name = "batching check" };
            worker.Start();
            worker.Join();
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    static void Measure(Predictor predictor, byte[] bytes, int? threads)
    {
        if (threads is { } count)
            TorchSharp.torch.set_num_threads(count);
        using var bitmap = predictor.DecodeImage(bytes);
        using var input = predictor.Preprocessor.Preprocess(bitmap);
        predictor.WarmUp();
        // Warm each shape once (the first batch of a size allocates what later passes reuse).
        predictor.Predict(input).Dispose();
        foreach (var size in BatchSizes)
            Dispose(predictor.PredictBatch(Enumerable.Repeat(input, size).ToList()));

        var runs = new Dictionary<string, List<Sample>> { ["8 x 1"] = [] };
        foreach (var size in BatchSizes)
            runs[$"1 x {size}"] = [];
        var detections = 0L;
        for (var round = 0; round < Rounds; round++)
        {
            runs["8 x 1"].Add(Sample.Take(() =>
            {
                for (var i = 0; i < 8; i++)
                {
                    using var one = predictor.Predict(input);
                    detections = one.Length;
                }
            }));
            foreach (var size in BatchSizes)
                runs[$"1 x {size}"].Add(Sample.Take(() => Dispose(predictor.PredictBatch(Enumerable.Repeat(input, size).ToList()))));
        }
        Console.WriteLine($"libtorch intra-op threads {TorchSharp.torch.get_num_threads()} ({Environment.ProcessorCount} CPUs); input {string.Join("x", input.Image.shape)}; " +
            $"{detections} detections per image; {Rounds} rounds; load average {LoadAverage()}");
        var stages = runs.Values.SelectMany(r => r).SelectMany(s => s.Stages.Keys).Distinct().ToList();
        // Per image, so batch sizes compare directly: ms per image at the median of rounds.
        Console.WriteLine($"{"ms per image (p50)",-22}" + string.Join("", runs.Keys.Select(k => $"{k,10}")));
        foreach (var stage in stages.Prepend("total"))
        {
            Console.Write($"{stage,-22}");
            foreach (var (name, samples) in runs)
            {
                var images = name == "8 x 1" ? 8 : int.Parse(name[4..], CultureInfo.InvariantCulture);
                var ms = Median(samples.Select(s => (stage == "total" ? s.Seconds : s.Stages.GetValueOrDefault(stage)) * 1000 / images));
                Console.Write($"{ms,10:F2}");
            }
            Console.WriteLine();
        }
        Console.Write($"{"minor faults / image",-22}");
        foreach (var (name, samples) in runs)
        {
            var images = name == "8 x 1" ? 8 : int.Parse(name[4..], CultureInfo.InvariantCulture);
            Console.Write($"{Median(samples.Select(s => (double)s.MinorFaults / images)),10:F0}");
        }
        Console.WriteLine();
        Console.Write($"{"total ms range",-22}");
        foreach (var (name, samples) in runs)
            Console.Write($"{$"{samples.Min(s => s.Seconds) * 1000:F0}-{samples.Max(s => s.Seconds) * 1000:F0}",10}");
        Console.WriteLine();
    }

    /// <summary>The mask head's layers alone (the demo config's: 2 convs 3x3 of 32 channels + ReLU, deconv, 1x1 predictor)
    /// on R pooled 14x14 ROIs: R = 100 is one image's detections, 800 a batch of 8; also 800 in chunks of 100.</summary>
    static void MaskHeadLayers()
    {
        using var noGrad = TorchSharp.torch.no_grad();
        TorchSharp.torch.manual_seed(0);
        var conv1 = TorchSharp.torch.nn.Conv2d(32, 32, 3, padding: 1);
        var conv2 = TorchSharp.torch.nn.Conv2d(32, 32, 3, padding: 1);
        var deconv = TorchSharp.torch.nn.ConvTranspose2d(32, 32, 2, stride: 2);
        var predictor = TorchSharp.torch.nn.Conv2d(32, 1, 1);
        TorchSharp.torch.Tensor? convOutput = null;
        var layers = new (string Name, Func<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor> Forward)[]
        {
            ("conv1", x => conv1.forward(x).relu_()), ("conv2", x => convOutput = conv2.forward(x).relu_()),
            ("deconv", x => deconv.forward(x).relu_()), ("predictor", x => predictor.forward(x)),
            ("deconv as matmul", _ => DeconvAsMatmul(convOutput!, deconv)),
        };
        var cases = new (string Name, long Rois, long Chunk)[] { ("100", 100, 100), ("200", 200, 200), ("400", 400, 400), ("800", 800, 800), ("800 by 100", 800, 100) };
        var results = cases.ToDictionary(c => c.Name, _ => layers.ToDictionary(l => l.Name, _ => new List<double>()));
        var faults = cases.ToDictionary(c => c.Name, _ => new List<double>());
        for (var round = 0; round < Rounds + 1; round++)
        {
            foreach (var (name, rois, chunk) in cases)
            {
                using var scope = TorchSharp.torch.NewDisposeScope();
                var input = TorchSharp.torch.rand(rois, 32, 14, 14);
                var before = MinorFaults();
                var times = layers.ToDictionary(l => l.Name, _ => 0.0);
                for (long start = 0; start < rois; start += chunk)
                {
                    using var chunkScope = TorchSharp.torch.NewDisposeScope();
                    var y = input.narrow(0, start, chunk);
                    foreach (var (layer, forward) in layers)
                    {
                        var clock = Stopwatch.StartNew();
                        y = forward(y);
                        times[layer] += clock.Elapsed.TotalMilliseconds;
                    }
                }
                if (round == 0)
                    continue; // warm-up
                faults[name].Add(MinorFaults() - before);
                foreach (var (layer, ms) in times)
                    results[name][layer].Add(ms);
            }
        }
        Console.WriteLine($"mask head layers, ms per 100 ROIs (p50 of {Rounds}); libtorch threads {TorchSharp.torch.get_num_threads()}; load average {LoadAverage()}");
        Console.WriteLine($"{"ROIs",-12}" + string.Join("", layers.Select(l => $"{l.Name,18}")) + $"{"faults",10}");
        foreach (var (name, rois, _) in cases)
            Console.WriteLine($"{name,-12}" + string.Join("", layers.Select(l => $"{Median(results[name][l.Name]) * 100 / rois,18:F2}")) + $"{Median(faults[name]),10:F0}");
    }

    // A 2x2 stride-2 transposed conv has no overlapping outputs: one matrix product of each pixel's C inputs with the
    // (C, O*2*2) weight, then the 2x2 blocks put in place.
    static TorchSharp.torch.Tensor DeconvAsMatmul(TorchSharp.torch.Tensor x, TorchSharp.Modules.ConvTranspose2d deconv)
    {
        var (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
        var weight = deconv.weight!;
        var o = weight.shape[1];
        var y = x.permute(0, 2, 3, 1).reshape(n * h * w, c).matmul(weight.reshape(c, o * 4));
        return y.view(n, h, w, o, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(n, o, 2 * h, 2 * w).add_(deconv.bias!.view(1, o, 1, 1)).relu_();
    }

    static void Dispose(IReadOnlyList<D2.Detection.Structures.Instances> outputs)
    {
        foreach (var output in outputs)
            output.Dispose();
    }

    sealed record Sample(double Seconds, IReadOnlyDictionary<string, double> Stages, long MinorFaults)
    {
        public static Sample Take(Action pass)
        {
            var faults = BatchingCheck.MinorFaults();
            using var profile = StageProfile.Start();
            var clock = Stopwatch.StartNew();
            pass();
            var seconds = clock.Elapsed.TotalSeconds;
            return new Sample(seconds, new Dictionary<string, double>(profile.Seconds), BatchingCheck.MinorFaults() - faults);
        }
    }

    /// <summary>The process's minor page faults so far (/proc/self/stat's 10th field; 0 where there is none).</summary>
    internal static long MinorFaults()
    {
        if (!File.Exists("/proc/self/stat"))
            return 0;
        var stat = File.ReadAllText("/proc/self/stat");
        // Fields after the command name in parentheses (which may hold spaces): state ppid pgrp session tty tpgid flags minflt.
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7], CultureInfo.InvariantCulture);
    }

    static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
