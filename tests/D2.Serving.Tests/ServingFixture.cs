using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using D2.Detection.Config;
using D2.Detection.Data.Synthetic;
using D2.Detection.Inference;
using D2.Detection.Modeling;

namespace D2.Serving.Tests;

/// <summary>A small model artifact (random weights of a reduced CPU config), a test image, and D2.Serving as a process.</summary>
internal static class ServingFixture
{
    public static string ServingDll
    {
        get
        {
#if DEBUG
            const string configuration = "Debug";
#else
            const string configuration = "Release";
#endif
            for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                    return Path.Combine(dir.FullName, "serving", "D2.Serving", "bin", configuration, "net10.0", "D2.Serving.dll");
            throw new InvalidOperationException("MLOps.sln not found above the test directory.");
        }
    }

    /// <summary>Writes a model artifact (model_final.safetensors, config.yaml, metadata.json) into <paramref name="directory"/>.</summary>
    public static void WriteModel(string directory)
    {
        var cfg = ConfigLoader.Load("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
        [
            "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64", "MODEL.ROI_MASK_HEAD.CONV_DIM", "32",
            "INPUT.MIN_SIZE_TEST", "120", "INPUT.MAX_SIZE_TEST", "160", "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0",
        ]);
        TorchSharp.torch.manual_seed(0);
        using var model = ModelBuilder.Build(cfg);
        ModelArtifact.Write(directory, model, cfg, ["balloon"], trainingJobName: "serving-tests");
    }

    /// <summary>A JPEG from the synthetic balloon generator.</summary>
    public static byte[] Image()
    {
        var folder = Directory.CreateTempSubdirectory("d2-serving-img-").FullName;
        try
        {
            SyntheticBalloons.Generate(folder, trainCount: 1, valCount: 0, seed: 1, width: 160, height: 120);
            return File.ReadAllBytes(Directory.EnumerateFiles(Path.Combine(folder, "train"), "*.jpg").First());
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>`dotnet D2.Serving.dll serve` with SageMaker's environment over <paramref name="baseDirectory"/>.</summary>
    public static ServingProcess Start(string baseDirectory, int port, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(ServingDll);
        info.ArgumentList.Add("serve");
        info.Environment["SAGEMAKER_BASE_DIR"] = baseDirectory;
        info.Environment["SAGEMAKER_BIND_TO_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["D2_SERVING_HOST"] = "127.0.0.1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        return new ServingProcess(Process.Start(info)!, port);
    }

    internal sealed class ServingProcess : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _output = new();

        public ServingProcess(Process process, int port)
        {
            _process = process;
            BaseUrl = new Uri($"http://127.0.0.1:{port}/");
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _output.Enqueue(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public Uri BaseUrl { get; }
        public string Output => string.Join('\n', _output);
        public bool HasExited => _process.HasExited;
        public int Id => _process.Id;

        /// <summary>The server's resident memory (VmRSS of /proc/PID/status), in bytes.</summary>
        public long ResidentBytes()
        {
            var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        public int ExitCode => _process.ExitCode;

        /// <summary>Polls /ping as SageMaker does until it answers 200.</summary>
        public async Task WaitUntilHealthyAsync(HttpClient http, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                if (_process.HasExited)
                    Assert.Fail($"D2.Serving exited with {_process.ExitCode}:\n{Output}");
                try
                {
                    using var ping = await http.GetAsync(new Uri(BaseUrl, "ping"));
                    if (ping.IsSuccessStatusCode)
                        return;
                }
                catch (HttpRequestException)
                {
                }
                await Task.Delay(200);
            }
            Assert.Fail($"D2.Serving did not answer /ping within {timeout}:\n{Output}");
        }

        /// <summary>Waits for the exit, then for the redirected output to drain (only the overload without a timeout does that).</summary>
        public bool WaitForExit(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout))
                return false;
            _process.WaitForExit();
            return true;
        }

        public void Terminate() => Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

        public void Dispose()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }
    }
}
