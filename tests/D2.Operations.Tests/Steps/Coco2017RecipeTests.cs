using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;

namespace D2.Operations.Tests.Steps;

/// <summary>
/// examples/coco2017's training profiles, loaded as `Start-D2Training -ProfilePath` and `./build.sh Train --training-profile`
/// load them, pass StartTraining's validation and create a job on the local SageMaker with their instance type, spot
/// settings and checkpoint URI (the s3:// locations swapped for file:// ones, which is all the local SageMaker reads);
/// the job is stopped at once, not run.
/// </summary>
[Parallelizable(ParallelScope.All)]
public class Coco2017RecipeTests
{
    static TrainingProfile Recipe(string file) => TrainingProfile.Load(Path.Combine(TestContext.CurrentContext.TestDirectory, "Recipes", file));

    [TestCase("p4d-24xlarge.json", "ml.p4d.24xlarge")]
    [TestCase("p3-16xlarge.json", "ml.p3.16xlarge")]
    public async Task Recipe_is_accepted_and_creates_a_spot_job_with_checkpoints(string file, string instanceType)
    {
        var recipe = Recipe(file);
        Assert.That(recipe.InstanceType, Is.EqualTo(instanceType));
        Assert.That(recipe.HyperParameters["config-file"], Is.EqualTo("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml"));
        Assert.That(recipe.Channels["training"], Does.StartWith("s3://"));
        Assert.That((recipe.Spot, recipe.InstanceCount, recipe.CheckpointUri), Is.EqualTo((true, 1, recipe.CheckpointUri)));
        Assert.That(recipe.CheckpointUri, Does.StartWith("s3://"));

        await using var local = await OperationsHarness.StartAsync();
        var storage = local.Profile("long");
        var checkpoints = new Uri(Path.Combine(local.Root, "checkpoints")).AbsoluteUri;
        var profile = recipe with
        {
            RoleArn = OperationsHarness.RoleArn,
            Channels = storage.Channels,
            OutputPath = storage.OutputPath,
            CheckpointUri = checkpoints,
            // The local trainer stand-in runs until stopped.
            HyperParameters = new Dictionary<string, string>(recipe.HyperParameters) { ["mode"] = "long" },
        };

        var started = await local.Context.Training.StartTrainingAsync(profile);
        try
        {
            Assert.That(started.Request.ResourceConfig!.InstanceType, Is.EqualTo(instanceType));
            Assert.That(started.Request.EnableManagedSpotTraining, Is.True);
            Assert.That(started.Request.StoppingCondition!.MaxWaitTimeInSeconds, Is.EqualTo(recipe.MaxWaitTimeInSeconds));
            Assert.That(started.Request.StoppingCondition.MaxRuntimeInSeconds, Is.EqualTo(recipe.MaxRuntimeInSeconds));
            Assert.That(started.Request.CheckpointConfig!.S3Uri, Is.EqualTo(checkpoints));
            Assert.That(started.Request.HyperParameters!["opts"], Is.EqualTo(recipe.HyperParameters["opts"]));
            var description = await local.Context.SageMaker.DescribeTrainingJobAsync(started.JobName);
            Assert.That(description.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.InProgress));
        }
        finally
        {
            await local.Context.Training.StopTrainingAsync(started.JobName);
            await local.Context.Training.WaitForTrainingAsync(started.JobName, null, OperationsHarness.Poll);
        }
    }

    [Test]
    public async Task The_FSx_recipe_mounts_its_file_system_channel_through_the_VPC()
    {
        var recipe = Recipe("p4d-24xlarge-fsx.json");
        var training = recipe.FileSystemChannels["training"];
        Assert.That((training.FileSystemType, training.FileSystemAccessMode, recipe.Channels.Count), Is.EqualTo((FileSystemType.FSxLustre, FileSystemAccessMode.ReadOnly, 0)));
        Assert.That(recipe.VpcConfig!.Subnets, Is.Not.Empty);

        // The recipe's file system, "mounted" here: its DirectoryPath under a local folder, as `--file-system-mount` does.
        var mount = Directory.CreateTempSubdirectory("d2-fsx-recipe-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(mount, training.DirectoryPath.TrimStart('/'), "coco"));
            await using var local = await OperationsHarness.StartAsync(options => options.FileSystemMounts[training.FileSystemId] = mount);
            var storage = local.Profile("long");
            var profile = recipe with
            {
                RoleArn = OperationsHarness.RoleArn,
                OutputPath = storage.OutputPath,
                CheckpointUri = new Uri(Path.Combine(local.Root, "checkpoints")).AbsoluteUri,
                HyperParameters = new Dictionary<string, string>(recipe.HyperParameters) { ["mode"] = "long" },
            };

            var started = await local.Context.Training.StartTrainingAsync(profile);
            try
            {
                Assert.That(started.Request.VpcConfig, Is.EqualTo(recipe.VpcConfig));
                Assert.That(started.Request.InputDataConfig!.Single().DataSource.FileSystemDataSource!.DirectoryPath, Is.EqualTo(training.DirectoryPath));
                var description = await local.Context.SageMaker.DescribeTrainingJobAsync(started.JobName);
                Assert.That(description.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.InProgress));
            }
            finally
            {
                await local.Context.Training.StopTrainingAsync(started.JobName);
                await local.Context.Training.WaitForTrainingAsync(started.JobName, null, OperationsHarness.Poll);
            }
        }
        finally
        {
            Directory.Delete(mount, recursive: true);
        }
    }
}
