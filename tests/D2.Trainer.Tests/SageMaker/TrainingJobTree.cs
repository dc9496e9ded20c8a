using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace D2.Trainer.Tests.SageMaker;

/// <summary>
/// An /opt/ml tree in a temporary folder, laid out as SageMaker lays it out before it starts the container, and the
/// published trainer run over it as SageMaker runs the image (argument `train`; SAGEMAKER_BASE_DIR moves the base).
/// </summary>
internal sealed class TrainingJobTree : IDisposable
{
    public TrainingJobTree(string jobName = "d2-e2e-job")
    {
        JobName = jobName;
        BaseDirectory = Directory.CreateTempSubdirectory("d2-opt-ml-").FullName;
        foreach (var dir in new[] { "input/config", "input/data", "model", "output/data", "checkpoints" })
            Directory.CreateDirectory(System.IO.Path.Combine(BaseDirectory, dir));
        File.WriteAllText(System.IO.Path.Combine(BaseDirectory, "input/config/resourceconfig.json"), JsonSerializer.Serialize(new
        {
            current_host = "algo-1", hosts = new[] { "algo-1" }, network_interface_name = "eth0", current_instance_type = "ml.m5.xlarge",
            current_group_name = "homogeneousCluster",
            instance_groups = new[] { new { instance_group_name = "homogeneousCluster", instance_type = "ml.m5.xlarge", hosts = new[] { "algo-1" } } },
        }));
        WriteInputDataConfig();
    }

    public string JobName { get; }
    public string BaseDirectory { get; }
    public string Path(string relative) => System.IO.Path.Combine(BaseDirectory, relative);
    public string FailureText => File.Exists(Path("output/failure")) ? File.ReadAllText(Path("output/failure")) : "";

    /// <summary>Every value a string, as SageMaker writes them.</summary>
    public void WriteHyperparameters(IReadOnlyDictionary<string, string> values) =>
        File.WriteAllText(Path("input/config/hyperparameters.json"), JsonSerializer.Serialize(values));

    /// <summary>Copies <paramref name="source"/> into input/data/<paramref name="name"/> (File mode), skipping <paramref name="exclude"/>.</summary>
    public void AddChannel(string name, string source, params string[] exclude)
    {
        var target = Path($"input/data/{name}");
        Directory.CreateDirectory(target);
        if (System.IO.Path.GetFullPath(source) != System.IO.Path.GetFullPath(target))
            foreach (var file in Directory.EnumerateFiles(source))
                if (!exclude.Contains(System.IO.Path.GetFileName(file)))
                    File.Copy(file, System.IO.Path.Combine(target, System.IO.Path.GetFileName(file)));
        WriteInputDataConfig();
    }

    private void WriteInputDataConfig()
    {
        var channels = Directory.Exists(Path("input/data"))
            ? Directory.EnumerateDirectories(Path("input/data")).Select(System.IO.Path.GetFileName).ToDictionary(n => n!, _ => new
            {
                TrainingInputMode = "File", S3DistributionType = "FullyReplicated", RecordWrapperType = "None",
            })
            : [];
        File.WriteAllText(Path("input/config/inputdataconfig.json"), JsonSerializer.Serialize(channels));
    }

    /// <summary>Extra environment for the container (the job's Environment).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>Starts the container's process; output lines are collected as they come.</summary>
    public RunningJob Start()
    {
        var info = new ProcessStartInfo(PublishedTrainer.Executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("train");
        info.Environment["SAGEMAKER_BASE_DIR"] = BaseDirectory;
        info.Environment["TRAINING_JOB_NAME"] = JobName;
        info.Environment.Remove("D2_DATASETS");
        foreach (var (name, value) in Environment)
            info.Environment[name] = value;
        return new RunningJob(Process.Start(info)!);
    }

    public (int Exit, string Stdout, string Stderr) Run(TimeSpan? timeout = null)
    {
        using var job = Start();
        var exit = job.WaitForExit(timeout ?? TimeSpan.FromMinutes(3));
        return (exit, job.Stdout, job.Stderr);
    }

    public void Dispose() => Directory.Delete(BaseDirectory, recursive: true);

    internal sealed class RunningJob : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _stdout = new();
        private readonly ConcurrentQueue<string> _stderr = new();

        public RunningJob(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => { if (e.Data is not null) _stdout.Enqueue(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _stderr.Enqueue(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public IReadOnlyList<string> StdoutLines => [.. _stdout];
        public string Stdout => string.Join('\n', _stdout);
        public string Stderr => string.Join('\n', _stderr);

        public bool WaitForLine(Func<string, bool> predicate, TimeSpan timeout)
        {
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < timeout)
            {
                if (_stdout.Any(predicate))
                    return true;
                if (_process.HasExited)
                    return _stdout.Any(predicate);
                Thread.Sleep(100);
            }
            return false;
        }

        /// <summary>SIGTERM, as `docker stop` delivers StopTrainingJob.</summary>
        public void Terminate() => Assert.That(Kill(_process.Id, 15), Is.Zero, "kill(SIGTERM)");

        public int WaitForExit(TimeSpan timeout)
        {
            if (!_process.WaitForExit(timeout))
            {
                _process.Kill(entireProcessTree: true);
                Assert.Fail($"the trainer did not exit within {timeout}:\n{Stdout}\n{Stderr}");
            }
            _process.WaitForExit(); // drains the asynchronous readers
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
            _process.Dispose();
        }

        [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static extern int Kill(int pid, int signal);
    }
}
