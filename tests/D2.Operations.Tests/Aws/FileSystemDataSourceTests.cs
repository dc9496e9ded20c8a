using System.Text.Json.Nodes;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;
using D2.Operations.ServiceModels;

namespace D2.Operations.Tests.Aws;

/// <summary>
/// A FileSystemDataSource channel (FSx for Lustre / EFS) on the wire, checked against botocore's SageMaker model: the
/// member names and enum values the model defines, the model's own validation of what was sent, and the client refusing
/// what the model forbids before anything is sent.
/// </summary>
public class FileSystemDataSourceTests
{
    private ScriptedAwsServer _server = null!;

    [SetUp]
    public async Task StartServer() => _server = await ScriptedAwsServer.StartAsync();

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    private static CreateTrainingJobRequest WithFileSystem(FileSystemDataSource source) => SageMakerClientTests.TrainingJob() with
    {
        InputDataConfig =
        [
            .. SageMakerClientTests.TrainingJob().InputDataConfig!,
            new Channel { ChannelName = "validation", DataSource = new DataSource { FileSystemDataSource = source } },
        ],
        VpcConfig = new VpcConfig(["sg-0123456789abcdef0"], ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]),
    };

    private static readonly FileSystemDataSource Fsx = new()
    {
        FileSystemId = "fs-0123456789abcdef0",
        FileSystemAccessMode = FileSystemAccessMode.ReadOnly,
        FileSystemType = FileSystemType.FSxLustre,
        DirectoryPath = "/abcdefgh/datasets/coco",
    };

    [Test]
    public async Task FileSystemDataSource_is_sent_with_the_models_member_names_and_enum_values()
    {
        _server.Enqueue(200, """{"TrainingJobArn":"arn:aws:sagemaker:eu-west-1:123456789012:training-job/d2-mask-rcnn-001"}""");
        using var client = new SageMakerClient(AwsTestOptions.For(_server));

        await client.CreateTrainingJobAsync(WithFileSystem(Fsx));

        var body = JsonNode.Parse(_server.Requests.Single().Body)!.AsObject();
        var model = ServiceModel.Get("sagemaker");
        Assert.That(ShapeValidator.Validate(model, "CreateTrainingJob", body), Is.Empty);

        var dataSource = body["InputDataConfig"]![1]!["DataSource"]!.AsObject();
        Assert.That(dataSource.Select(p => p.Key), Is.EqualTo(new[] { "FileSystemDataSource" }), "one source per channel, no null S3DataSource");
        var sent = dataSource["FileSystemDataSource"]!.AsObject();
        var shape = model.GetShape("FileSystemDataSource");
        Assert.That(sent.Select(p => p.Key), Is.EquivalentTo(shape.Members.Keys), "every member of the model's shape, and nothing else");
        Assert.That(shape.Required, Is.EquivalentTo(shape.Members.Keys), "the model requires all four");
        Assert.That(sent.ToJsonString(), Is.EqualTo("""{"FileSystemId":"fs-0123456789abcdef0","FileSystemAccessMode":"ro","FileSystemType":"FSxLustre","DirectoryPath":"/abcdefgh/datasets/coco"}"""));
        Assert.That(model.GetShape(shape.Members["FileSystemAccessMode"].ShapeName).Enum, Is.EquivalentTo(new[] { "ro", "rw" }));
        Assert.That(model.GetShape(shape.Members["FileSystemType"].ShapeName).Enum, Is.EquivalentTo(new[] { "EFS", "FSxLustre" }));
        Assert.That(body["VpcConfig"]!.ToJsonString(),
            Is.EqualTo("""{"SecurityGroupIds":["sg-0123456789abcdef0"],"Subnets":["subnet-0123456789abcdef0","subnet-0fedcba9876543210"]}"""));
    }

    [Test]
    public async Task Every_enum_member_has_a_wire_value_the_model_accepts()
    {
        var model = ServiceModel.Get("sagemaker");
        var shape = model.GetShape("FileSystemDataSource");
        foreach (var mode in Enum.GetValues<FileSystemAccessMode>().Where(m => m != FileSystemAccessMode.Unknown))
            Assert.That(model.GetShape(shape.Members["FileSystemAccessMode"].ShapeName).Enum, Does.Contain(System.Text.Json.JsonSerializer.Serialize(mode, AwsJson.PascalCase).Trim('"')));
        foreach (var type in Enum.GetValues<FileSystemType>().Where(t => t != FileSystemType.Unknown))
            Assert.That(model.GetShape(shape.Members["FileSystemType"].ShapeName).Enum, Does.Contain(System.Text.Json.JsonSerializer.Serialize(type, AwsJson.PascalCase).Trim('"')));

        // And back: DescribeTrainingJob's channel reads into the same record.
        _server.Enqueue(200, """
            {"TrainingJobName":"j","TrainingJobArn":"arn:j","TrainingJobStatus":"InProgress","SecondaryStatus":"Starting","CreationTime":1,
             "InputDataConfig":[{"ChannelName":"training","DataSource":{"FileSystemDataSource":{"FileSystemId":"fs-0123456789abcdef0",
               "FileSystemAccessMode":"rw","FileSystemType":"EFS","DirectoryPath":"/coco"}}}]}
            """);
        using var client = new SageMakerClient(AwsTestOptions.For(_server));
        var described = await client.DescribeTrainingJobAsync("j");
        Assert.That(described.InputDataConfig![0].DataSource.FileSystemDataSource, Is.EqualTo(Fsx with
        {
            FileSystemAccessMode = FileSystemAccessMode.ReadWrite, FileSystemType = FileSystemType.EFS, DirectoryPath = "/coco",
        }));
    }

    [Test]
    public async Task What_the_model_forbids_is_refused_before_sending_with_the_member_named()
    {
        using var client = new SageMakerClient(AwsTestOptions.For(_server));
        var bad = WithFileSystem(Fsx with { FileSystemId = "fs-12", FileSystemType = FileSystemType.Unknown });

        var error = await Assert.ThrowsAsync<AwsRequestValidationException>(() => client.CreateTrainingJobAsync(bad));

        // The id breaks two constraints (length 11-21 and the pattern), as AWS would list both; "Unknown" is no enum value.
        Assert.That(error!.Violations.Select(v => v.MemberPath), Is.EquivalentTo(new[]
        {
            "inputDataConfig.2.member.dataSource.fileSystemDataSource.fileSystemId",
            "inputDataConfig.2.member.dataSource.fileSystemDataSource.fileSystemId",
            "inputDataConfig.2.member.dataSource.fileSystemDataSource.fileSystemType",
        }));
        Assert.That(error.Message, Does.Contain("fs-12").And.Contain("Unknown"));
        Assert.That(_server.Requests, Is.Empty, "nothing was sent");
    }
}
