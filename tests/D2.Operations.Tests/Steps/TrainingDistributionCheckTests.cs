using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;

namespace D2.Operations.Tests.Steps;

/// <summary>
/// StartTraining refuses, before CreateTrainingJob, a distributed layout the trainer cannot run: the batch must split
/// over instances × workers per instance (GPUs from build/gpu-archs.json's gpusPerInstance, one on CPU instances, or
/// num-gpus), num-gpus must fit the instance, and a multi-instance job needs a served instance type. The local
/// SageMaker then lists no job.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class TrainingDistributionCheckTests
{
    static TrainingProfile Distributed(OperationsHarness local, string instanceType, int instances, string opts, string? numGpus = null)
    {
        var profile = local.Profile("ok", prefix: "ddp");
        var hyperparameters = new Dictionary<string, string>(profile.HyperParameters) { ["opts"] = opts };
        if (numGpus is not null)
            hyperparameters["num-gpus"] = numGpus;
        return profile with { InstanceType = instanceType, InstanceCount = instances, HyperParameters = hyperparameters };
    }

    [TestCase("ml.g5.12xlarge", 2, "SOLVER.IMS_PER_BATCH 12 SOLVER.MAX_ITER 10", null, "hyperParameters.opts",
        "SOLVER.IMS_PER_BATCH (12) is the total over all workers and must be divisible by their number: 2 instance(s) of ml.g5.12xlarge × 4 worker(s) = 8 workers")]
    [TestCase("ml.p4d.24xlarge", 3, "SOLVER.IMS_PER_BATCH 16", null, "hyperParameters.opts", "3 instance(s) of ml.p4d.24xlarge × 8 worker(s) = 24 workers")]
    [TestCase("ml.m5.xlarge", 2, "SOLVER.IMS_PER_BATCH 6", "4", "hyperParameters.opts", "(6)", TestName = "CPU instances count num-gpus workers")]
    [TestCase("ml.m5.xlarge", 3, "SOLVER.IMS_PER_BATCH 4", null, "hyperParameters.opts", "3 instance(s) of ml.m5.xlarge × 1 worker(s) = 3 workers")]
    [TestCase("ml.g5.2xlarge", 1, "SOLVER.IMS_PER_BATCH 4", "2", "hyperParameters.num-gpus", "asks for 2 workers per instance, but ml.g5.2xlarge has 1 GPU(s)")]
    [TestCase("ml.m5.xlarge", 1, "SOLVER.IMS_PER_BATCH 4", "zero", "hyperParameters.num-gpus", "must be a positive integer")]
    [TestCase("ml.trn1.32xlarge", 2, "SOLVER.IMS_PER_BATCH 4", null, "instanceType", "cannot run a 2-instance job")]
    [TestCase("ml.g5.12xlarge", 2, "SOLVER.IMS_PER_BATCH 12 SOLVER.REFERENCE_WORLD_SIZE 8", null, "hyperParameters.opts",
        "SOLVER.IMS_PER_BATCH (12) must be divisible by SOLVER.REFERENCE_WORLD_SIZE (8)")]
    [TestCase("ml.m5.xlarge", 2, "SOLVER.IMS_PER_BATCH (4", null, "hyperParameters.opts", "unbalanced")]
    public async Task A_layout_the_trainer_cannot_run_is_refused_before_any_job_is_created(
        string instanceType, int instances, string opts, string? numGpus, string field, string message)
    {
        await using var local = await OperationsHarness.StartAsync();
        var error = await Assert.ThrowsAsync<InvalidProfileException>(() =>
            local.Context.Training.StartTrainingAsync(Distributed(local, instanceType, instances, opts, numGpus)));
        Assert.That(error!.Field, Is.EqualTo(field), error.Message);
        Assert.That(error.Message, Does.Contain(message));
        var jobs = await local.Context.SageMaker.ListTrainingJobsAsync(new ListTrainingJobsRequest());
        Assert.That(jobs.TrainingJobSummaries, Is.Empty, "nothing was created");
    }

    [TestCase("ml.g5.12xlarge", 2, "SOLVER.IMS_PER_BATCH 16", null)]
    [TestCase("ml.g5.12xlarge", 2, "SOLVER.IMS_PER_BATCH 16 SOLVER.REFERENCE_WORLD_SIZE 8", null)]
    [TestCase("ml.p3.16xlarge", 4, "SOLVER.IMS_PER_BATCH 64", null)]
    [TestCase("ml.g5.12xlarge", 1, "SOLVER.IMS_PER_BATCH 6", "2")]
    [TestCase("ml.m5.xlarge", 2, "SOLVER.IMS_PER_BATCH 4 INPUT.MIN_SIZE_TRAIN (640, 672)", "2")]
    [TestCase("ml.g5.12xlarge", 2, "SOLVER.MAX_ITER 10", null)]
    public async Task A_layout_that_splits_evenly_builds_its_request(string instanceType, int instances, string opts, string? numGpus)
    {
        await using var local = await OperationsHarness.StartAsync();
        var request = await local.Context.Training.BuildRequestAsync(Distributed(local, instanceType, instances, opts, numGpus));
        Assert.That(request.ResourceConfig!.InstanceCount, Is.EqualTo(instances));
        Assert.That(request.HyperParameters!["opts"], Is.EqualTo(opts));
    }

    [Test]
    public void The_matrix_knows_the_gpus_of_multi_gpu_sizes_and_one_for_the_rest()
    {
        var matrix = D2.Operations.Matrix.GpuArchitectureMatrix.LoadDefault();
        Assert.That(matrix.WorkersPerInstance("ml.p3.16xlarge"), Is.EqualTo(8));
        Assert.That(matrix.WorkersPerInstance("ml.g4dn.12xlarge"), Is.EqualTo(4));
        Assert.That(matrix.WorkersPerInstance("ml.g5.2xlarge"), Is.EqualTo(1));
        Assert.That(matrix.WorkersPerInstance("ml.m5.4xlarge"), Is.EqualTo(1));
        Assert.Throws<FormatException>(() => D2.Operations.Matrix.GpuArchitectureMatrix.Parse(
            """{"architectures": [{"name": "cpu", "torchBackend": "cpu", "baseImage": "x", "computeCapabilities": [], "instanceFamilies": ["ml.m5"]}], "gpusPerInstance": {"ml.m5.xlarge": 2}}""", "test"));
    }
}
