using System.Collections.Concurrent;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text.RegularExpressions;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;

namespace D2.Trainer.Tests;

/// <summary>
/// `d2-local-sagemaker` as a process, driven with the typed SageMaker client over HTTP: a training job that runs the
/// real trainer (this d2, `train` over a job tree) on file:// channels ends Completed, with model.tar.gz holding the
/// artifact, output.tar.gz the metrics, and FinalMetricDataList parsed from the trainer's log by its own regexes.
/// </summary>
[NonParallelizable]
public class LocalSageMakerCommandTests
{
    [Test]
    public async Task A_training_job_runs_the_real_trainer_and_publishes_its_artifacts_and_metrics()
    {
        var root = Directory.CreateTempSubdirectory("d2-local-sm-").FullName;
        try
        {
            var data = Path.Combine(root, "data");
            var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", data, "--train", "4", "--val", "2", "--size", "160x120");
            Assert.That(exit, Is.Zero, stderr);
            File.Delete(Path.Combine(data, "train", "annotations.json"));
            File.Delete(Path.Combine(data, "val", "via_region_data.json"));

            using var server = LocalSageMakerProcess.Start(Path.Combine(root, "state"));
            using var client = new SageMakerClient(new AwsClientOptions { Region = "us-east-1", ServiceUrls = { ["sagemaker"] = server.Url } });
            Channel ChannelOf(string name, string folder) => new()
            {
                ChannelName = name,
                DataSource = new DataSource { S3DataSource = new S3DataSource { S3Uri = new Uri(folder).AbsoluteUri } },
            };
            await client.CreateTrainingJobAsync(new CreateTrainingJobRequest
            {
                TrainingJobName = "balloons-e2e",
                RoleArn = "arn:aws:iam::000000000000:role/SageMakerRole",
                AlgorithmSpecification = new AlgorithmSpecification
                {
                    TrainingImage = "000000000000.dkr.ecr.us-east-1.amazonaws.com/d2-trainer:local-cpu",
                    MetricDefinitions = [.. TrainerMetrics.Definitions],
                },
                HyperParameters = new Dictionary<string, string>
                {
                    ["config-file"] = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
                    ["opts"] = "SOLVER.MAX_ITER 2 SOLVER.IMS_PER_BATCH 2 INPUT.MIN_SIZE_TRAIN (120,) INPUT.MAX_SIZE_TRAIN 160 INPUT.MIN_SIZE_TEST 120 "
                        + "INPUT.MAX_SIZE_TEST 160 MODEL.FPN.OUT_CHANNELS 32 MODEL.ROI_BOX_HEAD.FC_DIM 64 MODEL.ROI_MASK_HEAD.CONV_DIM 32 DATALOADER.NUM_WORKERS 1",
                },
                InputDataConfig = [ChannelOf("training", Path.Combine(data, "train")), ChannelOf("validation", Path.Combine(data, "val"))],
                OutputDataConfig = new OutputDataConfig { S3OutputPath = new Uri(Path.Combine(root, "output")).AbsoluteUri },
                ResourceConfig = new ResourceConfig { InstanceType = "ml.m5.xlarge", InstanceCount = 1, VolumeSizeInGB = 5 },
                StoppingCondition = new StoppingCondition { MaxRuntimeInSeconds = 900 },
            });

            DescribeTrainingJobResponse job;
            var clock = Stopwatch.StartNew();
            do
            {
                await Task.Delay(500);
                job = await client.DescribeTrainingJobAsync("balloons-e2e");
            }
            while (job.TrainingJobStatus == TrainingJobStatus.InProgress && clock.Elapsed < TimeSpan.FromMinutes(4));

            Assert.That(job.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.Completed), job.FailureReason + "\n" + server.Output);
            var metrics = job.FinalMetricDataList!.ToDictionary(m => m.MetricName!, m => m.Value);
            Assert.That(metrics.Keys, Is.SupersetOf(new[] { "total_loss", "lr", "time", "bbox/AP", "segm/AP50" }));

            var tarball = new Uri(job.ModelArtifacts!.S3ModelArtifacts).LocalPath;
            Assert.That(tarball, Is.EqualTo(Path.Combine(root, "output", "balloons-e2e", "output", "model.tar.gz")));
            Assert.That(TarEntries(tarball), Is.SupersetOf(new[] { "model_final.safetensors", "config.yaml", "metadata.json" }));
            Assert.That(TarEntries(Path.Combine(root, "output", "balloons-e2e", "output", "output.tar.gz")), Has.Some.Contains("metrics.json").And.Some.Contains("evaluation.json"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public async Task A_two_instance_training_job_runs_two_trainer_processes_and_packs_rank_0s_model()
    {
        var root = Directory.CreateTempSubdirectory("d2-local-sm2-").FullName;
        try
        {
            var data = Path.Combine(root, "data");
            var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", data, "--train", "4", "--val", "2", "--size", "160x120");
            Assert.That(exit, Is.Zero, stderr);
            File.Delete(Path.Combine(data, "train", "annotations.json"));

            using var server = LocalSageMakerProcess.Start(Path.Combine(root, "state"));
            using var client = new SageMakerClient(new AwsClientOptions { Region = "us-east-1", ServiceUrls = { ["sagemaker"] = server.Url } });
            await client.CreateTrainingJobAsync(new CreateTrainingJobRequest
            {
                TrainingJobName = "two-hosts",
                RoleArn = "arn:aws:iam::000000000000:role/SageMakerRole",
                AlgorithmSpecification = new AlgorithmSpecification
                {
                    TrainingImage = "000000000000.dkr.ecr.us-east-1.amazonaws.com/d2-trainer:local-cpu",
                    MetricDefinitions = [.. TrainerMetrics.Definitions],
                },
                HyperParameters = new Dictionary<string, string>
                {
                    ["config-file"] = "Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml",
                    ["opts"] = "SOLVER.MAX_ITER 3 SOLVER.IMS_PER_BATCH 2 INPUT.MIN_SIZE_TRAIN (120,) INPUT.MAX_SIZE_TRAIN 160 "
                        + "MODEL.FPN.OUT_CHANNELS 32 MODEL.ROI_BOX_HEAD.FC_DIM 64 DATALOADER.NUM_WORKERS 0",
                },
                InputDataConfig = [new Channel
                {
                    ChannelName = "training",
                    DataSource = new DataSource { S3DataSource = new S3DataSource { S3Uri = new Uri(Path.Combine(data, "train")).AbsoluteUri } },
                }],
                OutputDataConfig = new OutputDataConfig { S3OutputPath = new Uri(Path.Combine(root, "output")).AbsoluteUri },
                ResourceConfig = new ResourceConfig { InstanceType = "ml.m5.xlarge", InstanceCount = 2, VolumeSizeInGB = 5 },
                StoppingCondition = new StoppingCondition { MaxRuntimeInSeconds = 900 },
            });

            DescribeTrainingJobResponse job;
            var clock = Stopwatch.StartNew();
            do
            {
                await Task.Delay(500);
                job = await client.DescribeTrainingJobAsync("two-hosts");
            }
            while (job.TrainingJobStatus == TrainingJobStatus.InProgress && clock.Elapsed < TimeSpan.FromMinutes(4));

            Assert.That(job.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.Completed), job.FailureReason + "\n" + server.Output);
            var jobFolder = Path.Combine(root, "state", "training-jobs", "two-hosts");
            Assert.That(File.ReadAllText(Path.Combine(jobFolder, "logs", "algo-1.log")), Does.Contain("World size: 2 (gloo)"));
            Assert.That(File.ReadAllText(Path.Combine(jobFolder, "instances", "algo-2", "logs", "algo-2.log")), Does.Contain("machine 1 of 2"));
            Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(jobFolder, "instances", "algo-2", "opt", "ml", "model")), Is.Empty,
                "rank 0 alone writes the model");
            var tarball = new Uri(job.ModelArtifacts!.S3ModelArtifacts).LocalPath;
            Assert.That(TarEntries(tarball), Is.SupersetOf(new[] { "model_final.safetensors", "config.yaml", "metadata.json" }));
            Assert.That(job.FinalMetricDataList!.Select(m => m.MetricName), Does.Contain("total_loss"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    static List<string> TarEntries(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new TarReader(gzip);
        var names = new List<string>();
        while (reader.GetNextEntry() is { } entry)
            names.Add(entry.Name.TrimStart('.', '/'));
        return names;
    }
}
