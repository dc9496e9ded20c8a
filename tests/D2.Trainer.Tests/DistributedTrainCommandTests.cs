using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace D2.Trainer.Tests;

/// <summary>
/// `d2 train --num-gpus 2` on CPU as real processes: the supervisor starts two workers over Gloo; rank 0 alone writes;
/// a killed worker ends the job with its rank named; a total batch that does not split is refused up front.
/// </summary>
[NonParallelizable]
[CancelAfter(240_000)]
public class DistributedTrainCommandTests
{
    static readonly string[] TinyOpts =
    [
        "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64", "MODEL.ROI_MASK_HEAD.CONV_DIM", "32",
        "MODEL.RPN.BATCH_SIZE_PER_IMAGE", "32", "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE", "32",
        "INPUT.MIN_SIZE_TRAIN", "(120,)", "INPUT.MAX_SIZE_TRAIN", "160", "INPUT.MIN_SIZE_TEST", "120", "INPUT.MAX_SIZE_TEST", "160",
        "SOLVER.IMS_PER_BATCH", "2", "SOLVER.WARMUP_ITERS", "2", "SOLVER.STEPS", "(100,)", "SOLVER.CHECKPOINT_PERIOD", "2",
        "TEST.EVAL_PERIOD", "0", "DATALOADER.NUM_WORKERS", "0", "SEED", "3",
    ];

    string _root = "";

    [OneTimeSetUp]
    public void CreateDataset()
    {
        _root = Directory.CreateTempSubdirectory("d2-ddp-train-").FullName;
        var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", Path.Combine(_root, "datasets", "balloon"), "--train", "4", "--val", "2", "--size", "160x120");
        Assert.That(exit, Is.Zero, stderr);
    }

    [OneTimeTearDown]
    public void DeleteDataset() => Directory.Delete(_root, recursive: true);

    string[] TrainArgs(string output, int maxIter, params string[] extra) => Args(output, maxIter, 2, false, extra);

    string[] Args(string output, int maxIter, int workers, bool resume, params string[] extra) =>
        ["train", "--config-file", "Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml", "--output", output, "--num-gpus", workers.ToString(CultureInfo.InvariantCulture),
            .. resume ? new[] { "--resume" } : [],
            "--datasets-root", Path.Combine(_root, "datasets"), "--opts", .. TinyOpts, "SOLVER.MAX_ITER", maxIter.ToString(CultureInfo.InvariantCulture), .. extra];

    [Test]
    public void Two_cpu_workers_train_and_rank_0_alone_writes()
    {
        var output = Path.Combine(_root, "run");
        var (exit, stdout, stderr) = D2Process.Run(TrainArgs(output, 3));
        Assert.That(exit, Is.Zero, stderr + stdout);
        Assert.That(stdout, Does.Contain("Rank of current process: 0. World size: 2 (gloo)"));
        Assert.That(Regex.Matches(stdout, "Starting training from iteration 0"), Has.Count.EqualTo(1), "console lines from rank 0 only");
        Assert.That(Directory.GetFiles(output, "metrics.json", SearchOption.AllDirectories), Has.Length.EqualTo(1));
        Assert.That(Directory.GetFiles(output, "model_final.safetensors", SearchOption.AllDirectories).Select(Path.GetFileName).ToList(),
            Has.Count.EqualTo(2), "the checkpoint and the artifact's weights");
        Assert.That(File.Exists(Path.Combine(output, "model", "metadata.json")), Is.True);
        // The final evaluation ran sharded over both ranks and was reported once, by rank 0.
        Assert.That(File.Exists(Path.Combine(output, "evaluation.json")), Is.True);
        Assert.That(Regex.Matches(stdout, "copypaste: Task: bbox"), Has.Count.EqualTo(1));
        Assert.That(File.ReadAllText(Path.Combine(output, "metrics.json")), Does.Contain("\"iteration\": 2"));

        // The checkpoint does not depend on the world size: one worker resumes the 2-worker run at the next iteration.
        (exit, stdout, stderr) = D2Process.Run(Args(output, 5, workers: 1, resume: true));
        Assert.That(exit, Is.Zero, stderr + stdout);
        Assert.That(stdout, Does.Contain("Starting training from iteration 3"));
    }

    [Test]
    public void Sigterm_stops_every_worker_after_the_same_iteration_with_one_checkpoint_and_the_job_resumes()
    {
        var output = Path.Combine(_root, "stopped");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "d2.dll"));
        foreach (var arg in TrainArgs(output, 100000, "SOLVER.CHECKPOINT_PERIOD", "2"))
            info.ArgumentList.Add(arg);
        using var supervisor = Process.Start(info)!;
        var stdout = supervisor.StandardOutput.ReadToEndAsync();
        var stderr = supervisor.StandardError.ReadToEndAsync();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            // Training is under way once the first periodic checkpoint (after iteration 1) exists.
            while (DateTime.UtcNow < deadline && !supervisor.HasExited && !File.Exists(Path.Combine(output, "model_0000001.safetensors")))
                Thread.Sleep(100);
            Assert.That(supervisor.HasExited, Is.False, stderr.IsCompleted ? stderr.Result : "");
            Assert.That(SysKill(supervisor.Id, 15), Is.Zero);
            Assert.That(supervisor.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "stopped within 60 s");
            Assert.That(supervisor.ExitCode, Is.EqualTo(130), stderr.Result + stdout.Result);
            var stopped = Regex.Match(stdout.Result, @"Stop requested: training ends after iteration (\d+)");
            Assert.That(stopped.Success, Is.True, stdout.Result);
            Assert.That(Regex.Matches(stdout.Result, "Stop requested"), Has.Count.EqualTo(1), "rank 0 alone reports");
            var iteration = int.Parse(stopped.Groups[1].Value, CultureInfo.InvariantCulture);
            // The periodic checkpoints (odd iterations) and exactly one more for the stop, by rank 0 alone.
            var expected = Enumerable.Range(0, iteration + 1).Where(i => i % 2 == 1).Append(iteration).Distinct()
                .Select(i => $"model_{i:D7}.safetensors").Order(StringComparer.Ordinal);
            Assert.That(Directory.GetFiles(output, "model_*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal), Is.EqualTo(expected));
            Assert.That(File.ReadAllText(Path.Combine(output, "last_checkpoint")), Is.EqualTo($"model_{iteration:D7}.safetensors"));

            var (exit, resumed, error) = D2Process.Run(Args(output, iteration + 2, workers: 2, resume: true));
            Assert.That(exit, Is.Zero, error + resumed);
            Assert.That(resumed, Does.Contain($"Starting training from iteration {iteration + 1}"));
        }
        finally
        {
            if (!supervisor.HasExited)
                supervisor.Kill(entireProcessTree: true);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    static extern int SysKill(int pid, int signal);

    [Test]
    public void A_total_batch_that_does_not_split_over_the_workers_is_refused_before_any_worker_starts()
    {
        var (exit, stdout, stderr) = D2Process.Run(TrainArgs(Path.Combine(_root, "odd"), 3, "SOLVER.IMS_PER_BATCH", "3"));
        Assert.That(exit, Is.EqualTo(2), stderr + stdout);
        Assert.That(stderr, Does.Contain("SOLVER.IMS_PER_BATCH (3) must be divisible by the number of workers (2)"));
        Assert.That(stderr, Does.Not.Contain("Launched"));
    }

    [Test]
    public void Killing_one_worker_ends_the_job_within_60_s_naming_its_rank()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "d2.dll"));
        foreach (var arg in TrainArgs(Path.Combine(_root, "killed"), 100000))
            info.ArgumentList.Add(arg);
        using var supervisor = Process.Start(info)!;
        var stdout = supervisor.StandardOutput.ReadToEndAsync();
        var stderr = supervisor.StandardError.ReadToEndAsync();
        try
        {
            // Wait for rank 1 to exist and training to be under way, then SIGKILL it.
            var deadline = DateTime.UtcNow.AddSeconds(120);
            int? victim = null;
            while (DateTime.UtcNow < deadline && !supervisor.HasExited)
            {
                victim ??= ChildWithRank(supervisor.Id, 1);
                if (victim is not null && File.Exists(Path.Combine(_root, "killed", "last_checkpoint")))
                    break;
                Thread.Sleep(200);
            }
            Assert.That(victim, Is.Not.Null, "rank 1 started");
            Assert.That(supervisor.HasExited, Is.False, stderr.IsCompleted ? stderr.Result : "");
            var watch = Stopwatch.StartNew();
            Process.GetProcessById(victim!.Value).Kill();
            Assert.That(supervisor.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "the job ended within 60 s");
            TestContext.Out.WriteLine($"job ended {watch.Elapsed.TotalSeconds:0.0} s after the kill");
            Assert.That(supervisor.ExitCode, Is.Not.Zero);
            Assert.That(stderr.Result, Does.Contain("Worker rank 1 of 2 was killed by signal 9"), "the root cause, not rank 0 that lost its peer");
        }
        finally
        {
            if (!supervisor.HasExited)
                supervisor.Kill(entireProcessTree: true);
        }
    }

    [Test]
    public void Workers_end_themselves_when_their_supervisor_is_killed()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "d2.dll"));
        foreach (var arg in TrainArgs(Path.Combine(_root, "orphans"), 100000))
            info.ArgumentList.Add(arg);
        using var supervisor = Process.Start(info)!;
        _ = supervisor.StandardOutput.ReadToEndAsync();
        _ = supervisor.StandardError.ReadToEndAsync();
        var workers = new List<Process>();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            while (DateTime.UtcNow < deadline && workers.Count < 2 && !supervisor.HasExited)
            {
                workers = [.. new[] { 0, 1 }.Select(r => ChildWithRank(supervisor.Id, r)).OfType<int>().Select(Process.GetProcessById)];
                Thread.Sleep(200);
            }
            Assert.That(workers, Has.Count.EqualTo(2), "both workers started");
            supervisor.Kill(); // SIGKILL: no chance to stop its workers
            foreach (var worker in workers)
                Assert.That(worker.WaitForExit(TimeSpan.FromSeconds(20)), Is.True, $"worker {worker.Id} ended without its supervisor");
        }
        finally
        {
            foreach (var worker in workers.Where(w => !w.HasExited))
                worker.Kill();
            if (!supervisor.HasExited)
                supervisor.Kill(entireProcessTree: true);
        }
    }

    /// <summary>The child of <paramref name="parent"/> whose environment says RANK=<paramref name="rank"/>.</summary>
    static int? ChildWithRank(int parent, int rank)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], CultureInfo.InvariantCulture);
                if (ppid != parent)
                    continue;
                var environ = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                if (environ.Contains($"RANK={rank}"))
                    return pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return null;
    }
}
