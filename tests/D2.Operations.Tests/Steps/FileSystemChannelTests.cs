using System.Text.Json;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;
using D2.Operations.ServiceModels;

namespace D2.Operations.Tests.Steps;

/// <summary>
/// File-system channels (EFS / FSx for Lustre) in training profiles: parsed from a channel's object value, validated with
/// the field named, sent as FileSystemDataSource with the profile's VpcConfig, and run by the local SageMaker with the
/// channel linked to a local directory (or refused, naming where it looked).
/// </summary>
[Parallelizable(ParallelScope.All)]
public class FileSystemChannelTests
{
    private const string Profile = """
        {
          "jobNamePrefix": "coco-fsx",
          "roleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
          "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2-trainer:1.0.0-ampere",
          "instanceType": "ml.p4d.24xlarge",
          "hyperParameters": { "config-file": "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml" },
          "channels": {
            "training": { "fileSystemId": "fs-0123456789abcdef0", "fileSystemType": "FSxLustre", "directoryPath": "/abcdefgh/datasets" },
            "validation": "s3://bucket/coco-val/"
          },
          "vpcConfig": { "securityGroupIds": ["sg-0123456789abcdef0"], "subnets": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"] },
          "outputPath": "s3://bucket/output/"
        }
        """;

    private static TrainingProfile Parse(string json) => TrainingProfile.Parse(json, "fsx.json");

    private static InvalidProfileException ParseError(string json) => Assert.Throws<InvalidProfileException>(() => Parse(json))!;

    [Test]
    public void A_file_system_channel_becomes_a_FileSystemDataSource_next_to_the_S3_channels()
    {
        var profile = Parse(Profile);
        Assert.That(profile.FileSystemChannels["training"], Is.EqualTo(new FileSystemChannel
        {
            FileSystemId = "fs-0123456789abcdef0",
            FileSystemType = FileSystemType.FSxLustre,
            DirectoryPath = "/abcdefgh/datasets",
            FileSystemAccessMode = FileSystemAccessMode.ReadOnly, // the default: training reads its data
        }));
        Assert.That(profile.Channels.Keys, Is.EqualTo(new[] { "validation" }));

        var request = TrainingJobRequests.Build(profile, profile.Image!, DateTimeOffset.UnixEpoch);
        var body = JsonSerializer.SerializeToNode(request, AwsJson.PascalCase)!;
        Assert.That(ShapeValidator.Validate(ServiceModel.Get("sagemaker"), "CreateTrainingJob", body), Is.Empty);
        Assert.That(body["InputDataConfig"]!.ToJsonString(), Is.EqualTo(
            """[{"ChannelName":"validation","DataSource":{"S3DataSource":{"S3DataType":"S3Prefix","S3Uri":"s3://bucket/coco-val/","S3DataDistributionType":"FullyReplicated"}}},"""
            + """{"ChannelName":"training","DataSource":{"FileSystemDataSource":{"FileSystemId":"fs-0123456789abcdef0","FileSystemAccessMode":"ro","FileSystemType":"FSxLustre","DirectoryPath":"/abcdefgh/datasets"}}}]"""));
        Assert.That(body["VpcConfig"]!.ToJsonString(),
            Is.EqualTo("""{"SecurityGroupIds":["sg-0123456789abcdef0"],"Subnets":["subnet-0123456789abcdef0","subnet-0fedcba9876543210"]}"""));
    }

    [TestCase("\"fileSystemId\": \"fs-0123456789abcdef0\", ", "", "channels.training.fileSystemId", "is required")]
    [TestCase("fs-0123456789abcdef0", "fs-XYZ", "channels.training.fileSystemId", "must be a file system id such as fs-0123456789abcdef0")]
    [TestCase("fs-0123456789abcdef0", "fs-0123456789abcdef0123", "channels.training.fileSystemId", "8 to 18 lowercase hex digits")]
    [TestCase("\"FSxLustre\"", "\"Lustre\"", "channels.training.fileSystemType", "must be one of EFS, FSxLustre (got 'Lustre')")]
    [TestCase("\"directoryPath\": \"/abcdefgh/datasets\"", "\"directoryPath\": \"/abcdefgh/datasets\", \"fileSystemAccessMode\": \"readonly\"",
        "channels.training.fileSystemAccessMode", "must be one of ro, rw (got 'readonly')")]
    [TestCase("\"/abcdefgh/datasets\"", "\"abcdefgh/datasets\"", "channels.training.directoryPath", "must be an absolute path")]
    [TestCase("\"/abcdefgh/datasets\"", "\"/\"", "channels.training.directoryPath", "must start with the FSx for Lustre file system's mount name")]
    [TestCase("\"directoryPath\"", "\"path\"", "channels.training.directoryPath", "is required")]
    [TestCase("\"fileSystemType\": \"FSxLustre\",", "\"fileSystemType\": \"FSxLustre\", \"mountPoint\": \"/fsx\",", "channels.training.mountPoint", "unknown field")]
    [TestCase("\"validation\": \"s3://bucket/coco-val/\"", "\"validation\": 42", "channels.validation", "must be an s3:// URI (file:// locally) or a file system")]
    [TestCase("\"sg-0123456789abcdef0\"", "\"sg_bad!\"", "vpcConfig.securityGroupIds[0]", "must be an id such as sg-0123456789abcdef0")]
    [TestCase("[\"subnet-0123456789abcdef0\", \"subnet-0fedcba9876543210\"]", "[]", "vpcConfig.subnets", "must list 1 to 16 ids")]
    public void A_wrong_member_is_named_in_the_error(string find, string replace, string field, string message)
    {
        var json = Profile.Replace(find, replace, StringComparison.Ordinal);
        Assert.That(json, Is.Not.EqualTo(Profile), "the case changes the profile");
        var error = ParseError(json);
        Assert.That(error.Field, Is.EqualTo(field), error.Message);
        Assert.That(error.Message, Does.StartWith("fsx.json: ").And.Contain($"'{field}'").And.Contain(message));
    }

    [Test]
    public void A_file_system_channel_needs_a_vpc_and_a_name_cannot_be_both_kinds()
    {
        var withoutVpc = Parse(Profile) with { VpcConfig = null };
        var error = Assert.Throws<InvalidProfileException>(withoutVpc.Validate)!;
        Assert.That((error.Field, error.Message), Is.EqualTo(("vpcConfig",
            "fsx.json: 'vpcConfig' is required with a file-system channel (training): SageMaker mounts EFS and FSx for Lustre through the job's VPC "
            + "(give the subnets and security groups that reach the file system).")));

        var both = Parse(Profile) with { Channels = new Dictionary<string, string> { ["training"] = "s3://bucket/coco/" } };
        Assert.That(Assert.Throws<InvalidProfileException>(both.Validate)!.Message, Does.Contain("'channels.training' is given both as a location and as a file system"));

        // A training location given on top of the profile (Start-D2Training -TrainingData, ./build.sh Train) replaces the mount.
        var overridden = new TrainingProfileOverrides { TrainingData = "s3://bucket/other/" }.Apply(Parse(Profile), local: false);
        Assert.That((overridden.Channels["training"], overridden.FileSystemChannels.Count), Is.EqualTo(("s3://bucket/other/", 0)));
    }

    [Test]
    public async Task The_local_SageMaker_links_the_directory_as_the_channel_and_runs_the_job()
    {
        var mount = Directory.CreateTempSubdirectory("d2-fsx-").FullName;
        try
        {
            // The file system fs-0123456789abcdef0 is "mounted" at {mount}; the channel's DirectoryPath is inside it.
            Directory.CreateDirectory(Path.Combine(mount, "abcdefgh", "datasets", "coco", "annotations"));
            File.WriteAllText(Path.Combine(mount, "abcdefgh", "datasets", "coco", "annotations", "instances_train2017.json"), "{}");
            await using var local = await OperationsHarness.StartAsync(options => options.FileSystemMounts["fs-0123456789abcdef0"] = mount);
            var fsx = Parse(Profile);
            var profile = local.Profile("ok", prefix: "fsx") with
            {
                Channels = new Dictionary<string, string>(),
                FileSystemChannels = fsx.FileSystemChannels,
                VpcConfig = fsx.VpcConfig,
            };

            var started = await local.Context.Training.StartTrainingAsync(profile);
            var result = await local.Context.Training.WaitForTrainingAsync(started.JobName, null, OperationsHarness.Poll);

            Assert.That(result.Status, Is.EqualTo(TrainingJobStatus.Completed));
            var optMl = Path.Combine(local.Root, "training-jobs", started.JobName, "opt", "ml");
            var channel = new DirectoryInfo(Path.Combine(optMl, "input", "data", "training"));
            Assert.That(channel.LinkTarget, Is.EqualTo(Path.Combine(mount, "abcdefgh", "datasets")), "mounted, not copied");
            Assert.That(File.ReadAllText(Path.Combine(optMl, "model", "channel-listing.txt")).Trim(), Is.EqualTo("coco"), "the trainer saw the file system's folder");
            var source = result.Description.InputDataConfig!.Single().DataSource.FileSystemDataSource!;
            Assert.That((source.FileSystemId, source.DirectoryPath, source.FileSystemType), Is.EqualTo(("fs-0123456789abcdef0", "/abcdefgh/datasets", FileSystemType.FSxLustre)));
            Assert.That(File.Exists(Path.Combine(mount, "abcdefgh", "datasets", "coco", "annotations", "instances_train2017.json")), Is.True, "the data is left in place");
        }
        finally
        {
            Directory.Delete(mount, recursive: true);
        }
    }

    [Test]
    public async Task The_local_SageMaker_refuses_a_directory_it_does_not_have()
    {
        await using var local = await OperationsHarness.StartAsync();
        var storage = local.Profile("ok", prefix: "fsx-missing");
        var profile = storage with
        {
            Channels = new Dictionary<string, string>(),
            FileSystemChannels = new Dictionary<string, FileSystemChannel>
            {
                ["training"] = new() { FileSystemId = "fs-0123456789abcdef0", FileSystemType = FileSystemType.EFS, DirectoryPath = "/no-such-d2-dir/coco" },
            },
            VpcConfig = new VpcConfig(["sg-0123456789abcdef0"], ["subnet-0123456789abcdef0"]),
        };

        var error = (await Assert.CatchAsync(() => local.Context.Training.StartTrainingAsync(profile)))!;

        Assert.That(error.Message, Does.Contain("Channel 'training': FileSystemDataSource fs-0123456789abcdef0 DirectoryPath '/no-such-d2-dir/coco' is not available to the local SageMaker")
            .And.Contain("--file-system-mount"));
        var jobs = await local.Context.SageMaker.ListTrainingJobsAsync(new ListTrainingJobsRequest());
        Assert.That(jobs.TrainingJobSummaries, Is.Empty, "refused at CreateTrainingJob");
    }
}
