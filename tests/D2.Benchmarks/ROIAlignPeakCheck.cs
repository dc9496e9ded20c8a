using System.Diagnostics;

namespace D2.Benchmarks;

/// <summary>
/// `roialign-peak`: the box-head pooling of <see cref="ROIAlignBenchmarks"/> (512 ROIs, 256 channels, p2..p5) on the
/// managed kernel and on the tensor-op path, forward and forward + backward: median time of a few runs and the peak
/// resident memory above the resident memory before the runs (Linux: VmHWM, reset through /proc/self/clear_refs).
/// BenchmarkDotNet's memory column counts only managed allocations; the tensors are native.
/// </summary>
internal static class ROIAlignPeakCheck
{
    public static int Run(int runs = 3)
    {
        var bench = new ROIAlignBenchmarks();
        bench.Setup();
        (string Name, Func<long> Body)[] cases =
        [
            ("forward, managed kernel (CPU path)", bench.D2Forward),
            ("forward, tensor ops (CUDA path on CPU)", bench.TensorOpForward),
            ("fwd+bwd, managed kernel (CPU path)", bench.D2ForwardBackward),
            ("fwd+bwd, tensor ops (CUDA path on CPU)", bench.TensorOpForwardBackward),
        ];
        Console.WriteLine("ROIAlign, 512 ROIs x 256 channels, 7x7, ratio 0 (adaptive), p2..p5 of 800x1344:");
        foreach (var (name, body) in cases)
        {
            body(); // warm-up: allocator pools, lazy initialisation
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var resetPeak = ResetPeak();
            var before = Status("VmRSS");
            var times = new List<double>();
            for (var i = 0; i < runs; i++)
            {
                var watch = Stopwatch.StartNew();
                body();
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
            var peak = Status("VmHWM");
            times.Sort();
            Console.WriteLine($"  {name,-42} median {times[runs / 2],9:F1} ms   peak resident {(resetPeak ? "+" : "")}{(peak - (resetPeak ? before : 0)) / 1024.0,8:F1} MiB{(resetPeak ? " above the start" : " (process peak: VmHWM could not be reset)")}");
        }
        bench.Cleanup();
        return 0;
    }

    /// <summary>Writing 5 to clear_refs resets the process's peak resident size (Linux 4.0+).</summary>
    static bool ResetPeak()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>A kB field of /proc/self/status.</summary>
    static long Status(string field)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }
}
