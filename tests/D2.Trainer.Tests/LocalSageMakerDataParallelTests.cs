using System.Text.Json;
using D2.Detection.Checkpoint;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;
using static TorchSharp.torch;

namespace D2.Trainer.Tests;

/// <summary>
/// The equality check end to end: the same Faster R-CNN settings as DataParallelEquivalenceTests (every anchor
/// and proposal kept with POSITIVE_FRACTION 1.0, no flip, one image size, two objects per image, SEED 7 so both jobs
/// start from the same weights and the same shared data order), as a 2-instance job of the local SageMaker (two
/// published-trainer processes, real Gloo over loopback, 1 image each) and a 1-instance job (1 worker, 2 images).
/// The packed models and the logged losses must agree.
/// </summary>
[NonParallelizable]
[CancelAfter(300_000)]
public class LocalSageMakerDataParallelTests
{
    const string EqualityOpts = "MODEL.FPN.OUT_CHANNELS 32 MODEL.ROI_BOX_HEAD.FC_DIM 64 "
        + "MODEL.RPN.BATCH_SIZE_PER_IMAGE 100000 MODEL.RPN.POSITIVE_FRACTION 1.0 "
        + "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE 100000 MODEL.ROI_HEADS.POSITIVE_FRACTION 1.0 "
        + "MODEL.RPN.PRE_NMS_TOPK_TRAIN 200 MODEL.RPN.POST_NMS_TOPK_TRAIN 40 "
        + "INPUT.MIN_SIZE_TRAIN (120,) INPUT.MAX_SIZE_TRAIN 160 INPUT.RANDOM_FLIP none "
        + "SOLVER.IMS_PER_BATCH 2 SOLVER.BASE_LR 0.01 SOLVER.WARMUP_ITERS 1 SOLVER.MAX_ITER 3 SOLVER.CHECKPOINT_PERIOD 1000 "
        + "SOLVER.CLIP_GRADIENTS.ENABLED True SOLVER.CLIP_GRADIENTS.CLIP_TYPE full_model SOLVER.CLIP_GRADIENTS.CLIP_VALUE 1.0 "
        + "TEST.EVAL_PERIOD 0 DATALOADER.NUM_WORKERS 0 SEED 7";

    static readonly string[] LossNames = ["loss_cls", "loss_box_reg", "loss_rpn_cls", "loss_rpn_loc", "total_loss"];

    [Test]
    public async Task Two_instances_with_one_image_each_equal_one_instance_with_two_images_after_three_SGD_iterations()
    {
        var root = Directory.CreateTempSubdirectory("d2-local-sm-ddp-").FullName;
        try
        {
            var train = LocalSageMakerJobs.TwoObjectChannel(root, count: 4);
            var output = Path.Combine(root, "output");
            using var server = LocalSageMakerProcess.Start(Path.Combine(root, "state"));
            using var client = new SageMakerClient(new AwsClientOptions { Region = "us-east-1", ServiceUrls = { ["sagemaker"] = server.Url } });

            await client.CreateTrainingJobAsync(LocalSageMakerJobs.Request("two-by-one", train, output, instanceCount: 2, EqualityOpts));
            await client.CreateTrainingJobAsync(LocalSageMakerJobs.Request("one-by-two", train, output, instanceCount: 1, EqualityOpts));
            var distributed = await LocalSageMakerJobs.WaitAsync(client, "two-by-one", TimeSpan.FromMinutes(4));
            var single = await LocalSageMakerJobs.WaitAsync(client, "one-by-two", TimeSpan.FromMinutes(4));
            Assert.That(distributed.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.Completed), distributed.FailureReason + "\n" + server.Output);
            Assert.That(single.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.Completed), single.FailureReason + "\n" + server.Output);
            var algo1Log = File.ReadAllText(Path.Combine(root, "state", "training-jobs", "two-by-one", "logs", "algo-1.log"));
            Assert.That(algo1Log, Does.Contain("World size: 2 (gloo)"));

            var (distributedWeights, distributedLosses) = Outcome(distributed, Path.Combine(root, "unpacked", "two-by-one"));
            var (singleWeights, singleLosses) = Outcome(single, Path.Combine(root, "unpacked", "one-by-two"));

            Assert.That(distributedWeights.Keys, Is.EquivalentTo(singleWeights.Keys));
            var largest = 0.0;
            var where = "";
            foreach (var (name, expected) in singleWeights)
            {
                var actual = distributedWeights[name];
                Assert.That(actual, Has.Length.EqualTo(expected.Length), name);
                var scale = expected.Max(v => Math.Abs((double)v));
                for (var i = 0; i < expected.Length; i++)
                {
                    var relative = Math.Abs(actual[i] - (double)expected[i]) / Math.Max(scale, 1e-6);
                    if (relative > largest)
                        (largest, where) = (relative, $"{name}[{i}]");
                }
            }
            TestContext.Out.WriteLine($"2 instances x 1 image vs 1 x 2 through the local SageMaker: largest relative weight difference {largest:E2} at {where}");
            Assert.That(largest, Is.LessThanOrEqualTo(2e-5), $"largest relative difference at {where}");
            Assert.That(distributedLosses.Keys, Is.EquivalentTo(singleLosses.Keys), "the same metrics.json rows");
            foreach (var ((iteration, name), expected) in singleLosses)
            {
                var actual = distributedLosses[(iteration, name)];
                TestContext.Out.WriteLine($"iteration {iteration} {name}: {expected:G9} vs {actual:G9}");
                Assert.That(actual, Is.EqualTo(expected).Within(2e-5 * Math.Max(1, Math.Abs(expected))), $"{name} at iteration {iteration}");
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The weights of model.tar.gz's model_final.safetensors and the losses of output.tar.gz's metrics.json.</summary>
    static (Dictionary<string, float[]> Weights, Dictionary<(long Iteration, string Name), double> Losses) Outcome(DescribeTrainingJobResponse job, string folder)
    {
        var model = LocalSageMakerJobs.Extract(new Uri(job.ModelArtifacts!.S3ModelArtifacts).LocalPath, Path.Combine(folder, "model"));
        var outputTarGz = Path.Combine(Path.GetDirectoryName(new Uri(job.ModelArtifacts!.S3ModelArtifacts).LocalPath)!, "output.tar.gz");
        var outputData = LocalSageMakerJobs.Extract(outputTarGz, Path.Combine(folder, "output"));

        var weights = new Dictionary<string, float[]>(StringComparer.Ordinal);
        using (NewDisposeScope())
        {
            var content = SafeTensors.Load(Path.Combine(model, "model_final.safetensors"));
            foreach (var (name, tensor) in content.Tensors)
                if (tensor.dtype is ScalarType.Float32 or ScalarType.Float64)
                    weights[name] = tensor.to(ScalarType.Float32).data<float>().ToArray();
        }
        Assert.That(weights, Is.Not.Empty);

        var metrics = Directory.GetFiles(outputData, "metrics.json", SearchOption.AllDirectories);
        Assert.That(metrics, Has.Length.EqualTo(1), "one metrics.json, written by rank 0");
        var losses = new Dictionary<(long, string), double>();
        foreach (var line in File.ReadLines(metrics[0]).Where(l => l.Trim().Length > 0))
        {
            using var row = JsonDocument.Parse(line);
            if (!row.RootElement.TryGetProperty("iteration", out var iteration))
                continue;
            foreach (var name in LossNames)
                if (row.RootElement.TryGetProperty(name, out var value))
                    losses[(iteration.GetInt64(), name)] = value.GetDouble();
        }
        Assert.That(losses.Keys.Select(k => k.Item2).Distinct(), Is.EquivalentTo(LossNames), "metrics.json logs every loss");
        return (weights, losses);
    }
}
