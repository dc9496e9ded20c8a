using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;

namespace D2.Trainer.Tests;

/// <summary>
/// Faults of multi-worker jobs through `d2-local-sagemaker` (real trainer processes, Gloo over loopback): a worker
/// killed with SIGKILL fails the job within 60 s with a FailureReason naming that rank, its host and the signal (not a
/// rank that merely lost its peer); StopTrainingJob on a 2-instance job stops both at the same iteration with one
/// checkpoint from rank 0, and a new job on the same checkpoint location resumes at the next iteration.
/// </summary>
[NonParallelizable]
[CancelAfter(300_000)]
public class LocalSageMakerFaultTests
{
    const string TinyOpts = "MODEL.FPN.OUT_CHANNELS 32 MODEL.ROI_BOX_HEAD.FC_DIM 64 MODEL.RPN.BATCH_SIZE_PER_IMAGE 32 "
        + "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE 32 INPUT.MIN_SIZE_TRAIN (120,) INPUT.MAX_SIZE_TRAIN 160 SOLVER.IMS_PER_BATCH 2 "
        + "SOLVER.WARMUP_ITERS 2 SOLVER.STEPS (1000000,) TEST.EVAL_PERIOD 0 DATALOADER.NUM_WORKERS 0 SOLVER.CHECKPOINT_PERIOD 100000";

    string _root = "";

    [SetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("d2-local-sm-faults-").FullName;

    [TearDown]
    public void DeleteRoot() => Directory.Delete(_root, recursive: true);

    // One instance with two workers (the num-gpus hyperparameter) and two instances with one worker each.
    [TestCase(1, 2, "algo-1")]
    [TestCase(2, 1, "algo-2")]
    public async Task Killing_rank_1_fails_the_job_within_60_s_with_a_reason_naming_it(int instances, int workersPerInstance, string victimHost)
    {
        var train = LocalSageMakerJobs.TwoObjectChannel(_root, count: 4);
        using var server = LocalSageMakerProcess.Start(Path.Combine(_root, "state"));
        using var client = new SageMakerClient(new AwsClientOptions { Region = "us-east-1", ServiceUrls = { ["sagemaker"] = server.Url } });
        var name = $"kill-{instances}x{workersPerInstance}-{Guid.NewGuid():N}"[..30];
        var request = LocalSageMakerJobs.Request(name, train, Path.Combine(_root, "output"), instances, TinyOpts + " SOLVER.MAX_ITER 100000");
        if (workersPerInstance > 1)
            request = request with { HyperParameters = new Dictionary<string, string>(request.HyperParameters!) { ["num-gpus"] = workersPerInstance.ToString(CultureInfo.InvariantCulture) } };
        await client.CreateTrainingJobAsync(request);

        var log = Path.Combine(_root, "state", "training-jobs", name, "logs", "algo-1.log");
        await WaitForLogAsync(client, name, log, "Starting training from iteration 0", server);
        var victim = WorkerWithRank(name, 1);
        Assert.That(victim, Is.Not.Null, "rank 1's process");
        var watch = Stopwatch.StartNew();
        Process.GetProcessById(victim!.Value).Kill();

        var job = await LocalSageMakerJobs.WaitAsync(client, name, TimeSpan.FromSeconds(60));
        TestContext.Out.WriteLine($"{instances} x {workersPerInstance}: job {job.TrainingJobStatus} {watch.Elapsed.TotalSeconds:0.0} s after the kill: {job.FailureReason}");
        Assert.That(job.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.Failed), server.Output);
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)));
        Assert.That(job.FailureReason, Does.StartWith($"AlgorithmError: rank 1 of 2 on {victimHost} was killed by signal 9"));
        Assert.That(job.FailureReason, Does.Not.Contain("rank 0 of 2 on algo-1:"), "rank 0 only lost its peer: a symptom");
    }

    [Test]
    public void The_local_SageMaker_and_the_trainer_agree_on_the_exit_code_of_a_rank_that_lost_its_peers() =>
        Assert.That(D2.SageMaker.Contract.TrainerExitCodes.PeerLost, Is.EqualTo(D2.Detection.Distributed.PeerLoss.ExitCode));

    [Test]
    public async Task StopTrainingJob_on_two_instances_gives_one_checkpoint_and_a_job_that_resumes_at_the_next_iteration()
    {
        var train = LocalSageMakerJobs.TwoObjectChannel(_root, count: 4);
        var checkpoints = Path.Combine(_root, "checkpoints");
        using var server = LocalSageMakerProcess.Start(Path.Combine(_root, "state"));
        using var client = new SageMakerClient(new AwsClientOptions { Region = "us-east-1", ServiceUrls = { ["sagemaker"] = server.Url } });
        await client.CreateTrainingJobAsync(LocalSageMakerJobs.Request("stopped", train, Path.Combine(_root, "output"), 2,
            TinyOpts + " SOLVER.MAX_ITER 100000", checkpoints));

        var jobFolder = Path.Combine(_root, "state", "training-jobs", "stopped");
        var log = Path.Combine(jobFolder, "logs", "algo-1.log");
        await WaitForLogAsync(client, "stopped", log, "Starting training from iteration 0", server);
        await client.StopTrainingJobAsync("stopped");
        var job = await LocalSageMakerJobs.WaitAsync(client, "stopped", TimeSpan.FromSeconds(120));
        Assert.That(job.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.Stopped), job.FailureReason + "\n" + server.Output);

        var text = File.ReadAllText(log);
        var stopped = Regex.Match(text, @"Stop requested: training ends after iteration (\d+)");
        Assert.That(stopped.Success, Is.True, text);
        var iteration = int.Parse(stopped.Groups[1].Value, CultureInfo.InvariantCulture);
        // Both hosts ended cleanly (a rank that stopped at another iteration would have failed its next collective).
        Assert.That(text, Does.Contain("[local-sagemaker] process exited with code 0"));
        Assert.That(File.ReadAllText(Path.Combine(jobFolder, "instances", "algo-2", "logs", "algo-2.log")), Does.Contain("[local-sagemaker] process exited with code 0"));
        // Exactly one checkpoint, rank 0's, synced to the checkpoint location; algo-2 wrote none.
        Assert.That(Directory.GetFiles(checkpoints, "model_*").Select(Path.GetFileName), Is.EqualTo(new[] { $"model_{iteration:D7}.safetensors" }));
        Assert.That(File.ReadAllText(Path.Combine(checkpoints, "last_checkpoint")), Is.EqualTo($"model_{iteration:D7}.safetensors"));
        Assert.That(Directory.GetFiles(Path.Combine(jobFolder, "instances", "algo-2", "opt", "ml", "checkpoints"), "model_*"), Is.Empty);

        await client.CreateTrainingJobAsync(LocalSageMakerJobs.Request("resumed", train, Path.Combine(_root, "output"), 2,
            TinyOpts + $" SOLVER.MAX_ITER {iteration + 2}", checkpoints));
        var resumed = await LocalSageMakerJobs.WaitAsync(client, "resumed", TimeSpan.FromMinutes(3));
        Assert.That(resumed.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.Completed), resumed.FailureReason + "\n" + server.Output);
        Assert.That(File.ReadAllText(Path.Combine(_root, "state", "training-jobs", "resumed", "logs", "algo-1.log")),
            Does.Contain($"Starting training from iteration {iteration + 1}"));
    }

    static async Task WaitForLogAsync(SageMakerClient client, string name, string log, string line, LocalSageMakerProcess server)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            if (File.Exists(log) && ReadShared(log).Contains(line, StringComparison.Ordinal))
                return;
            var job = await client.DescribeTrainingJobAsync(name);
            Assert.That(job.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.InProgress), job.FailureReason + "\n" + server.Output);
            await Task.Delay(200);
        }
        Assert.Fail($"'{line}' did not appear in {log} within 3 minutes:\n{server.Output}");
    }

    static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    /// <summary>The worker process of the job with RANK=<paramref name="rank"/> (the trainer's workers carry the job's
    /// TRAINING_JOB_NAME, which the local SageMaker sets, and their rank in the environment).</summary>
    static int? WorkerWithRank(string jobName, int rank)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
                continue;
            try
            {
                var environ = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0');
                if (environ.Contains($"TRAINING_JOB_NAME={jobName}") && environ.Contains($"RANK={rank}"))
                    return pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return null;
    }
}
