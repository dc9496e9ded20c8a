using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
using D2.Detection;
using D2.Detection.Config;
using D2.Detection.Data.Synthetic;
using D2.Detection.Inference;
using D2.Detection.Modeling;

namespace D2.Benchmarks;

/// <summary>
/// `serving`: what D2.Serving adds over the bare Predictor, in one run on a reduced demo config (cpu_mask_rcnn_R_18_FPN_GN_small
/// with 32 FPN channels at 120x160, random weights, as the serving tests use). Like with like: the same JPEG bytes; the
/// bare side decodes, resizes, predicts and encodes the JSON answer in this process (each part timed) on a thread of its
/// own, as the server's model runs (libtorch on this process's main thread ran 5-15x slower here); the served side is a
/// POST /invocations to the server as a process, its answer checked byte for byte against the bare JSON (the same
/// detections); libtorch threads of both are printed. The two alternate with an idle gap so neither's threads spin while
/// the other runs. The server's Server-Timing header splits each request into read, decode, queue, model, resume (thread
/// hop back), encode; the rest is HTTP (Kestrel, loopback, client). The overhead (goal: at most 2 ms at p50) is each served
/// request minus its own decode, forward pass and encode; served minus the bare side, paired per iteration, and minus the
/// bare forward pass alone are printed too (they carry two different processes' CPU noise). Then requests per second
/// at 8 concurrent clients with dynamic batching off (D2_MAX_BATCH_SIZE 1) and on (8, D2_MAX_BATCH_DELAY_MS 5), each
/// twice, alternating. The same latency loop against a transport peer (ServingTransportPeer: a bare ASP.NET Core app that
/// answers as many bytes after a dedicated thread's sleep as long as the forward pass) gives this machine's HTTP floor.
/// D2_BENCH_SERVING_REQUESTS shortens a run, D2_BENCH_SERVING_THROUGHPUT=0 skips the throughput part; D2_BENCH_SERVING_DLL benches another D2.Serving build.
/// </summary>
internal static class ServingCheck
{
    // D2_BENCH_SERVING_REQUESTS shortens a run (a quick look); the default is what the Bench target reports.
    static readonly int Requests = int.TryParse(Environment.GetEnvironmentVariable("D2_BENCH_SERVING_REQUESTS"), out var n) && n > 0 ? n : 40;
    // Steady state on both sides: .NET compiles a method fully optimised (tier 1) only after 30 calls and a quiet 100 ms,
    // so with a short warm-up the first timed requests ran the server's, the peer's and this client's request path as
    // tier-0 code (measured: 8 warm-up requests gave about 1 ms more at p50 than 60, for the server and the peer alike).
    static readonly int WarmUp = int.TryParse(Environment.GetEnvironmentVariable("D2_BENCH_SERVING_WARMUP"), out var w) && w >= 0 ? w : 60;
    static readonly string[] ServerStages = ["read", "decode", "queue", "model", "resume", "encode"];

    public static int Run()
    {
        // Like with like: the bare side runs under the server's malloc settings (NativeAllocator), so a difference in the
        // forward pass is not glibc giving memory back between passes.
        Console.WriteLine($"benchmark process: {NativeAllocator.KeepFreedMemory()}");
        var root = Directory.CreateTempSubdirectory("d2-servingcheck-").FullName;
        try
        {
            var image = ServingBenchModel.Write(root, "servingcheck");

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
            (int AnswerBytes, double PredictMs, double Overhead) latency = default;
            using (var predictor = Predictor.FromModelDirectory(Path.Combine(root, "model"), "cpu"))
            using (var server = Start(root, 1, 5))
            {
                server.WaitHealthy(http);
                // On a thread of its own, as the server's model runs: libtorch's OpenMP state is per calling thread.
                var bare = new Thread(() => latency = Latency(http, server.Url, predictor, image)) { Name = "bare predictor" };
                bare.Start();
                bare.Join();
            }
            var peer = new Thread(() => PeerLatency(http, latency.AnswerBytes, latency.PredictMs, latency.Overhead)) { Name = "peer client" };
            peer.Start();
            peer.Join();
            // D2_BENCH_SERVING_THROUGHPUT=0: the latency part alone (a quick before/after of one change).
            if (Environment.GetEnvironmentVariable("D2_BENCH_SERVING_THROUGHPUT") == "0")
                return 0;
            var throughput = new Dictionary<int, List<double>> { [1] = [], [8] = [] };
            for (var round = 0; round < 2; round++)
            {
                foreach (var batchSize in new[] { 1, 8 })
                {
                    using var server = Start(root, batchSize, 5);
                    server.WaitHealthy(http);
                    throughput[batchSize].Add(Throughput(http, server.Url, image, batchSize));
                }
            }
            Console.WriteLine($"load average {LoadAverage()}");
            Console.WriteLine($"8 clients, batching off (D2_MAX_BATCH_SIZE 1):        {string.Join(", ", throughput[1].Select(t => $"{t,6:F2}"))} requests/s");
            Console.WriteLine($"8 clients, batching on (D2_MAX_BATCH_SIZE 8, 5 ms):   {string.Join(", ", throughput[8].Select(t => $"{t,6:F2}"))} requests/s");
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <returns>the answer's size, the bare forward pass and the serving overhead (ms), p50</returns>
    static (int AnswerBytes, double PredictMs, double Overhead) Latency(HttpClient http, Uri url, Predictor predictor, byte[] image)
    {
        var answerBytes = 0;
        Dictionary<string, List<double>> bare = new() { ["decode"] = [], ["resize"] = [], ["predict"] = [], ["encode"] = [], ["total"] = [] };
        var served = ServerStages.Concat(["http", "total"]).ToDictionary(s => s, _ => new List<double>());
        List<double> overhead = [], overPredict = [], inRequest = [], ping = [];
        var identical = 0;
        var detections = 0;
        for (var i = 0; i < Requests + WarmUp; i++)
        {
            Thread.Sleep(20); // idle gap: the server's threads have gone to sleep
            var clock = Stopwatch.StartNew();
            using var bitmap = predictor.DecodeImage(image);
            var decodeMs = clock.Elapsed.TotalMilliseconds;
            using var input = predictor.Preprocessor.Preprocess(bitmap);
            var resizeMs = clock.Elapsed.TotalMilliseconds - decodeMs;
            byte[] json;
            double predictMs;
            using (var instances = predictor.Predict(input))
            {
                predictMs = clock.Elapsed.TotalMilliseconds - decodeMs - resizeMs;
                json = InstancesJson.ToUtf8Bytes(instances, predictor.ClassNames);
                detections = (int)instances.Length;
            }
            var bareMs = clock.Elapsed.TotalMilliseconds;
            Thread.Sleep(20); // idle gap: this process's threads have gone to sleep
            clock.Restart();
            var (answer, timing) = Invoke(http, url, image).GetAwaiter().GetResult();
            var servedMs = clock.Elapsed.TotalMilliseconds;
            // The floor of any HTTP round trip here (client, loopback, Kestrel, no body, no model): what of the overhead is
            // transport and client rather than D2.Serving's own request path.
            clock.Restart();
            using (var pong = http.GetAsync(new Uri(url, "ping")).GetAwaiter().GetResult())
                pong.EnsureSuccessStatusCode();
            var pingMs = clock.Elapsed.TotalMilliseconds;
            if (i < WarmUp)
                continue;
            ping.Add(pingMs);
            if (answer.AsSpan().SequenceEqual(json))
                identical++;
            answerBytes = answer.Length;
            bare["decode"].Add(decodeMs);
            bare["resize"].Add(resizeMs);
            bare["predict"].Add(predictMs);
            bare["encode"].Add(bareMs - decodeMs - resizeMs - predictMs);
            bare["total"].Add(bareMs);
            foreach (var stage in ServerStages)
                served[stage].Add(timing.GetValueOrDefault(stage, double.NaN));
            served["http"].Add(servedMs - ServerStages.Sum(s => timing.GetValueOrDefault(s, 0)));
            served["total"].Add(servedMs);
            overhead.Add(servedMs - bareMs);
            // The same request's own decode, forward pass and encode taken out: what serving adds, free of the
            // cross-process noise of comparing two different passes.
            inRequest.Add(servedMs - timing.GetValueOrDefault("decode") - timing.GetValueOrDefault("model") - timing.GetValueOrDefault("encode"));
            overPredict.Add(servedMs - predictMs);
        }
        var serverThreads = Metric(http.GetStringAsync(new Uri(url, "metrics")).GetAwaiter().GetResult(), "d2_torch_threads");
        Console.WriteLine($"libtorch intra-op threads: benchmark process {TorchSharp.torch.get_num_threads()}, server's model thread {serverThreads} " +
            $"(OMP_NUM_THREADS {Environment.GetEnvironmentVariable("OMP_NUM_THREADS") ?? "unset"}, {Environment.ProcessorCount} CPUs)");
        Console.WriteLine($"{detections} detections per image; served answers byte-identical to the bare JSON: {identical} of {Requests}");
        Console.WriteLine("p50 (ms)  bare Predictor in process: " + string.Join(", ", bare.Select(p => $"{p.Key} {Median(p.Value):F2}")));
        Console.WriteLine("p50 (ms)  POST /invocations:         " + string.Join(", ", served.Select(p => $"{p.Key} {Median(p.Value):F2}")));
        var own = Median(inRequest);
        Console.WriteLine($"serving overhead, served - its own decode, forward pass and encode (Server-Timing), p50:   {own,7:F2} ms  (goal <= 2 ms: {(own <= 2 ? "met" : "NOT met")})");
        Console.WriteLine($"  of which: server hops read + queue + resume {Median(served["read"]) + Median(served["queue"]) + Median(served["resume"]):F2} ms; GET /ping round trip (HTTP floor, same client) {Median(ping):F2} ms; " +
            $"load average {LoadAverage()}");
        Console.WriteLine($"served - bare (decode + resize + predict + encode), p50 of paired differences:              {Median(overhead),7:F2} ms  (two processes' passes: CPU noise included)");
        Console.WriteLine($"served - bare forward pass alone, p50 of paired differences:                               {Median(overPredict),7:F2} ms");
        Console.WriteLine($"GC: benchmark process {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, D2.Serving server (its runtimeconfig; DOTNET_gcServer {Environment.GetEnvironmentVariable("DOTNET_gcServer") ?? "unset"})");
        return (answerBytes, Median(bare["predict"]), own);
    }

    /// <summary>The same client, pattern and answer size against the transport peer (<see cref="ServingTransportPeer"/>),
    /// whose dedicated thread sleeps as long as the bare forward pass: what any HTTP server costs here.</summary>
    static void PeerLatency(HttpClient http, int answerBytes, double gapMs, double servingOverhead)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { typeof(ServingCheck).Assembly.Location, "serving-peer", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            answerBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), gapMs.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(argument);
        using var peer = new Server(Process.Start(info)!, new Uri($"http://127.0.0.1:{port}/"));
        peer.Process.OutputDataReceived += (_, _) => { };
        peer.Process.ErrorDataReceived += (_, _) => { };
        peer.Process.BeginOutputReadLine();
        peer.Process.BeginErrorReadLine();
        peer.WaitHealthy(http);
        List<double> overhead = [];
        for (var i = 0; i < Requests + WarmUp; i++)
        {
            Thread.Sleep(20);
            var clock = Stopwatch.StartNew();
            var (_, timing) = Invoke(http, peer.Url, new byte[4096]).GetAwaiter().GetResult();
            var servedMs = clock.Elapsed.TotalMilliseconds;
            if (i >= WarmUp)
                overhead.Add(servedMs - timing.GetValueOrDefault("model"));
        }
        var floor = Median(overhead);
        Console.WriteLine($"transport peer (a bare ASP.NET Core app: same client, a 4 KB body, {answerBytes} bytes back after a dedicated thread's {gapMs:F1} ms sleep), " +
            $"request minus the sleep, p50: {floor,7:F2} ms; D2.Serving's overhead above it {servingOverhead - floor:F2} ms; load average {LoadAverage()}");
    }

    static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    static double Metric(string metrics, string name) =>
        double.Parse(metrics.Split('\n').First(l => l.StartsWith(name + " ", StringComparison.Ordinal)).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

    static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    static double Throughput(HttpClient http, Uri url, byte[] image, int batchSize)
    {
        // Warm-up at the same concurrency, then 8 clients x Requests / 4 each.
        Task.WaitAll(Enumerable.Range(0, 8).Select(_ => Invoke(http, url, image)));
        var before = http.GetStringAsync(new Uri(url, "metrics")).GetAwaiter().GetResult();
        var clock = Stopwatch.StartNew();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        Task.WaitAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            for (var i = 0; i < Requests / 4; i++)
            {
                try
                {
                    await Invoke(http, url, image);
                }
                catch (InvalidOperationException e)
                {
                    failures.Enqueue(e.Message);
                }
            }
        }));
        var elapsed = clock.Elapsed.TotalSeconds;
        var rate = 8 * (Requests / 4) / elapsed;
        Console.WriteLine($"8 clients, D2_MAX_BATCH_SIZE {batchSize}: {rate:F2} requests/s");
        PrintPipeline(before, http.GetStringAsync(new Uri(url, "metrics")).GetAwaiter().GetResult(), elapsed);
        // A failed request is reported, not allowed to end the run (the rate then counts it as served).
        if (!failures.IsEmpty)
            Console.WriteLine($"  {failures.Count} of {8 * (Requests / 4)} requests failed; the first: {failures.First()[..Math.Min(400, failures.First().Length)]}");
        return rate;
    }

    /// <summary>How the model thread spent a throughput run (the server's /metrics before and after it): passes, images per
    /// pass, the share of the run the model was busy, and each request's mean decode, queue wait and encode.</summary>
    static void PrintPipeline(string before, string after, double elapsedSeconds)
    {
        double Delta(string series) => Metric(after, series) - Metric(before, series);
        var passes = Delta("d2_batch_size_count");
        var requests = Delta("d2_request_stage_seconds_count{stage=\"queue\"}");
        double Mean(string stage) => Delta($"d2_request_stage_seconds_sum{{stage=\"{stage}\"}}") / requests * 1000;
        Console.WriteLine($"  {passes} passes, {Delta("d2_batch_size_sum") / passes:F2} images per pass, {Delta("d2_model_seconds_sum") / passes * 1000:F1} ms per pass, " +
            $"model busy {Delta("d2_model_seconds_sum") / elapsedSeconds:P0} of the run; per request: decode {Mean("decode"):F1} ms, queue {Mean("queue"):F1} ms, " +
            $"resume {Mean("resume"):F1} ms, encode {Mean("encode"):F1} ms; load average {LoadAverage()}");
    }

    /// <returns>the answer and its Server-Timing durations (ms) by name</returns>
    static async Task<(byte[] Answer, Dictionary<string, double> Timing)> Invoke(HttpClient http, Uri url, byte[] image)
    {
        using var content = new ByteArrayContent(image);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        using var response = await http.PostAsync(new Uri(url, "invocations"), content);
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"/invocations answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        var answer = await response.Content.ReadAsByteArrayAsync();
        var timing = new Dictionary<string, double>();
        if (response.Headers.TryGetValues("Server-Timing", out var values))
        {
            foreach (var metric in values.SelectMany(v => v.Split(',')))
            {
                var parts = metric.Split(';', StringSplitOptions.TrimEntries);
                var duration = parts.Skip(1).FirstOrDefault(p => p.StartsWith("dur=", StringComparison.Ordinal));
                if (duration is not null)
                    timing[parts[0]] = double.Parse(duration[4..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return (answer, timing);
    }

    static Server Start(string root, int batchSize, int delayMs)
    {
        var port = FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(ServingDll());
        info.ArgumentList.Add("serve");
        info.Environment["SAGEMAKER_BASE_DIR"] = root;
        info.Environment["SAGEMAKER_BIND_TO_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["D2_SERVING_HOST"] = "127.0.0.1";
        info.Environment["D2_DEVICE"] = "cpu";
        info.Environment["D2_MAX_BATCH_SIZE"] = batchSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["D2_MAX_BATCH_DELAY_MS"] = delayMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Server(process, new Uri($"http://127.0.0.1:{port}/"));
    }

    /// <summary>This checkout's D2.Serving build, or D2_BENCH_SERVING_DLL (another build, for a before/after comparison).</summary>
    static string ServingDll()
    {
        if (Environment.GetEnvironmentVariable("D2_BENCH_SERVING_DLL") is { Length: > 0 } other)
            return other;
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                return Path.Combine(dir.FullName, "serving", "D2.Serving", "bin", configuration, "net10.0", "D2.Serving.dll");
        throw new InvalidOperationException("MLOps.sln not found above the benchmark's directory.");
    }

    static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    sealed record Server(Process Process, Uri Url) : IDisposable
    {
        public void WaitHealthy(HttpClient http)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(120))
            {
                if (Process.HasExited)
                    throw new InvalidOperationException($"D2.Serving exited with {Process.ExitCode}.");
                try
                {
                    using var ping = http.GetAsync(new Uri(Url, "ping")).GetAwaiter().GetResult();
                    if (ping.IsSuccessStatusCode)
                        return;
                }
                catch (HttpRequestException)
                {
                }
                Thread.Sleep(200);
            }
            throw new TimeoutException("D2.Serving did not answer /ping within 120 s.");
        }

        public void Dispose()
        {
            if (!Process.HasExited)
                Process.Kill(entireProcessTree: true);
            Process.Dispose();
        }
    }
}
