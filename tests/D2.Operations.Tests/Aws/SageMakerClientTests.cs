using System.Globalization;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;
using D2.Operations.ServiceModels;

namespace D2.Operations.Tests.Aws;

public class SageMakerClientTests
{
    private ScriptedAwsServer _server = null!;

    [SetUp]
    public async Task StartServer() => _server = await ScriptedAwsServer.StartAsync();

    [TearDown]
    public async Task StopServer()
    {
        // Every JSON 1.1 body the client sent must satisfy the service model.
        foreach (var request in _server.Requests.Where(r => r.Header("X-Amz-Target") is not null))
        {
            var target = request.Header("X-Amz-Target")!;
            var service = target.StartsWith("SageMaker.", StringComparison.Ordinal) ? "sagemaker" : "ecr";
            var violations = ShapeValidator.Validate(ServiceModel.Get(service), target[(target.IndexOf('.') + 1)..], JsonNode.Parse(request.Body));
            Assert.That(violations, Is.Empty, target + ": " + string.Join("; ", violations));
        }

        await _server.DisposeAsync();
    }

    internal static CreateTrainingJobRequest TrainingJob(string name = "d2-mask-rcnn-001") => new()
    {
        TrainingJobName = name,
        RoleArn = "arn:aws:iam::123456789012:role/SageMakerRole",
        AlgorithmSpecification = new AlgorithmSpecification
        {
            TrainingImage = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2-trainer:ampere",
            TrainingInputMode = TrainingInputMode.File,
            MetricDefinitions = [new MetricDefinition("total_loss", "total_loss: ([0-9.]+)")],
        },
        HyperParameters = new Dictionary<string, string> { ["config-file"] = "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml" },
        InputDataConfig =
        [
            new Channel
            {
                ChannelName = "training",
                DataSource = new DataSource { S3DataSource = new S3DataSource { S3Uri = "s3://bucket/coco/", S3DataDistributionType = S3DataDistribution.FullyReplicated } },
            },
        ],
        OutputDataConfig = new OutputDataConfig { S3OutputPath = "s3://bucket/output/" },
        ResourceConfig = new ResourceConfig { InstanceType = "ml.g5.xlarge", InstanceCount = 1, VolumeSizeInGB = 50 },
        StoppingCondition = new StoppingCondition { MaxRuntimeInSeconds = 86400, MaxWaitTimeInSeconds = 90000 },
        EnableManagedSpotTraining = true,
        CheckpointConfig = new CheckpointConfig { S3Uri = "s3://bucket/checkpoints/" },
        Environment = new Dictionary<string, string> { ["D2_LOG"] = "info" },
        RetryStrategy = new RetryStrategy(2),
        Tags = [new Tag("project", "d2")],
    };

    [Test]
    public async Task CreateTrainingJobSendsSignedJson11()
    {
        _server.Enqueue(200, """{"TrainingJobArn":"arn:aws:sagemaker:eu-west-1:123456789012:training-job/d2-mask-rcnn-001"}""");
        using var client = new SageMakerClient(AwsTestOptions.For(_server));

        var answer = await client.CreateTrainingJobAsync(TrainingJob());

        Assert.That(answer.TrainingJobArn, Does.EndWith("training-job/d2-mask-rcnn-001"));
        var request = _server.Requests.Single();
        Assert.That(request.Method, Is.EqualTo("POST"));
        Assert.That(request.PathAndQuery, Is.EqualTo("/"));
        Assert.That(request.Header("X-Amz-Target"), Is.EqualTo("SageMaker.CreateTrainingJob"));
        Assert.That(request.Header("Content-Type"), Is.EqualTo("application/x-amz-json-1.1"));
        Assert.That(request.Header("amz-sdk-request"), Is.EqualTo("attempt=1"));
        Assert.That(Guid.TryParse(request.Header("amz-sdk-invocation-id"), out _), Is.True);
        Assert.That(request.Header("Authorization"), Does.StartWith($"AWS4-HMAC-SHA256 Credential={AwsTestOptions.AccessKey}/"));
        Assert.That(request.Header("Authorization"), Does.Contain("/eu-west-1/sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "));

        var body = JsonNode.Parse(request.Body)!.AsObject();
        Assert.That((string)body["TrainingJobName"]!, Is.EqualTo("d2-mask-rcnn-001"));
        Assert.That((string)body["AlgorithmSpecification"]!["TrainingInputMode"]!, Is.EqualTo("File"));
        Assert.That((string)body["InputDataConfig"]![0]!["DataSource"]!["S3DataSource"]!["S3DataType"]!, Is.EqualTo("S3Prefix"));
        Assert.That((string)body["HyperParameters"]!["config-file"]!, Does.StartWith("COCO-InstanceSegmentation/"));
        Assert.That((int)body["RetryStrategy"]!["MaximumRetryAttempts"]!, Is.EqualTo(2));
        Assert.That(body.ContainsKey("VpcConfig"), Is.False, "unset members are omitted, not sent as null");
    }

    [Test]
    public async Task SignatureCoversWhatWasSent()
    {
        using var client = new SageMakerClient(AwsTestOptions.For(_server, credentials: new SessionAWSCredentials("ASIAEXAMPLE", "secret", "token/+=")));
        await client.StopTrainingJobAsync("d2-job");

        // Re-sign the request exactly as received: the server-side view must give the same Authorization.
        var request = _server.Requests.Single();
        Assert.That(request.Header("X-Amz-Security-Token"), Is.EqualTo("token/+="));
        var authorization = request.Header("Authorization")!;
        var signed = authorization.Split("SignedHeaders=")[1].Split(',')[0].Split(';');
        var headers = signed.Where(h => h != "host").Select(h => new KeyValuePair<string, string>(h, request.Header(h)!));
        var timestamp = DateTimeOffset.ParseExact(request.Header("X-Amz-Date")!, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        var expected = SigV4Signer.Sign("POST", new Uri(_server.Url, request.PathAndQuery), headers, request.Body,
            new ImmutableCredentials("ASIAEXAMPLE", "secret", "token/+="), "eu-west-1", "sagemaker", timestamp);
        Assert.That(authorization, Is.EqualTo(expected.Authorization));
    }

    [Test]
    public async Task DescribeTrainingJobParsesTimesStatusesAndMetrics()
    {
        _server.Enqueue(200, """
            {"TrainingJobName":"d2-job","TrainingJobArn":"arn:aws:sagemaker:eu-west-1:123456789012:training-job/d2-job",
             "TrainingJobStatus":"Completed","SecondaryStatus":"Completed",
             "ModelArtifacts":{"S3ModelArtifacts":"s3://bucket/output/d2-job/output/model.tar.gz"},
             "CreationTime":1700000000.123,"TrainingStartTime":1700000100,"TrainingEndTime":1700003700.5,
             "SecondaryStatusTransitions":[{"Status":"Starting","StartTime":1700000000.2,"EndTime":1700000100,"StatusMessage":"Preparing"},
                                           {"Status":"SomethingNew","StartTime":1700000100}],
             "FinalMetricDataList":[{"MetricName":"total_loss","Value":0.25,"Timestamp":1700003600}],
             "BillableTimeInSeconds":1234,"TrainingTimeInSeconds":3600,"StoppingCondition":{"MaxRuntimeInSeconds":86400},
             "UnmodeledNewMember":{"x":1}}
            """);
        using var client = new SageMakerClient(AwsTestOptions.For(_server));

        var job = await client.DescribeTrainingJobAsync("d2-job");

        Assert.That(job.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.Completed));
        Assert.That(job.ModelArtifacts!.S3ModelArtifacts, Does.EndWith("model.tar.gz"));
        Assert.That(job.CreationTime, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds(1700000000123)));
        Assert.That(job.TrainingEndTime, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds(1700003700500)));
        Assert.That(job.SecondaryStatusTransitions![0].Status, Is.EqualTo(SecondaryStatus.Starting));
        Assert.That(job.SecondaryStatusTransitions[1].Status, Is.EqualTo(SecondaryStatus.Unknown), "unknown enum values are read leniently");
        Assert.That(job.FinalMetricDataList![0].Value, Is.EqualTo(0.25f));
        Assert.That(job.BillableTimeInSeconds, Is.EqualTo(1234));
        Assert.That(JsonNode.Parse(_server.Requests.Single().Body)!.ToJsonString(), Is.EqualTo("""{"TrainingJobName":"d2-job"}"""));
    }

    [Test]
    public async Task InvalidRequestIsNotSentAndNamesTheMember()
    {
        using var client = new SageMakerClient(AwsTestOptions.For(_server));

        var error = await Assert.ThrowsAsync<AwsRequestValidationException>(() => client.CreateTrainingJobAsync(TrainingJob("d2_bad_name")));

        Assert.That(error!.Message, Does.Contain("1 validation error detected: Value 'd2_bad_name' at 'trainingJobName' failed to satisfy constraint"));
        Assert.That(error.Violations.Single().MemberPath, Is.EqualTo("trainingJobName"));
        Assert.That(_server.Requests, Is.Empty);
    }

    [Test]
    public async Task NestedValidationErrorsUseAwsPaths()
    {
        using var client = new SageMakerClient(AwsTestOptions.For(_server));
        var request = TrainingJob() with { ResourceConfig = new ResourceConfig { InstanceType = "ml.g99.huge", InstanceCount = -1 } };

        var error = await Assert.ThrowsAsync<AwsRequestValidationException>(() => client.CreateTrainingJobAsync(request));

        Assert.That(error!.Violations.Select(v => v.MemberPath), Is.EquivalentTo(new[] { "resourceConfig.instanceType", "resourceConfig.instanceCount" }));
        Assert.That(error.Message, Does.StartWith("sagemaker CreateTrainingJob: 2 validation errors detected: "));
    }

    [Test]
    public async Task ListTrainingJobsFollowsNextToken()
    {
        _server.Enqueue(200, """{"TrainingJobSummaries":[{"TrainingJobName":"a","TrainingJobArn":"arn:a","CreationTime":1,"TrainingJobStatus":"InProgress"}],"NextToken":"t1"}""");
        _server.Enqueue(200, """{"TrainingJobSummaries":[{"TrainingJobName":"b","TrainingJobArn":"arn:b","CreationTime":2,"TrainingJobStatus":"Failed"}]}""");
        using var client = new SageMakerClient(AwsTestOptions.For(_server));

        var names = new List<string>();
        await foreach (var job in client.ListAllTrainingJobsAsync(new ListTrainingJobsRequest { MaxResults = 1, SortBy = ListSortBy.CreationTime, SortOrder = SortOrder.Descending }))
        {
            names.Add(job.TrainingJobName);
        }

        Assert.That(names, Is.EqualTo(new[] { "a", "b" }));
        var second = JsonNode.Parse(_server.Requests.Last().Body)!;
        Assert.That((string)second["NextToken"]!, Is.EqualTo("t1"));
        Assert.That((string)second["SortBy"]!, Is.EqualTo("CreationTime"));
    }

    [Test]
    public async Task EndpointLifecycleCalls()
    {
        _server.Enqueue(200, """{"ModelArn":"arn:aws:sagemaker:eu-west-1:123456789012:model/d2-model"}""");
        _server.Enqueue(200, """{"EndpointConfigArn":"arn:aws:sagemaker:eu-west-1:123456789012:endpoint-config/d2-config"}""");
        _server.Enqueue(200, """{"EndpointArn":"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/d2-endpoint"}""");
        _server.Enqueue(200, """
            {"EndpointName":"d2-endpoint","EndpointArn":"arn:aws:sagemaker:eu-west-1:123456789012:endpoint/d2-endpoint",
             "EndpointConfigName":"d2-config","EndpointStatus":"InService","CreationTime":1700000000,"LastModifiedTime":1700000300,
             "ProductionVariants":[{"VariantName":"AllTraffic","CurrentInstanceCount":1,"CurrentWeight":1.0,
               "DeployedImages":[{"SpecifiedImage":"img:tag","ResolvedImage":"img@sha256:abc","ResolutionTime":1700000001}]}]}
            """);
        _server.Enqueue(200, "");
        using var client = new SageMakerClient(AwsTestOptions.For(_server));

        await client.CreateModelAsync(new CreateModelRequest
        {
            ModelName = "d2-model",
            ExecutionRoleArn = "arn:aws:iam::123456789012:role/SageMakerRole",
            PrimaryContainer = new ContainerDefinition { Image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2-serving:ampere", ModelDataUrl = "s3://bucket/model.tar.gz" },
        });
        await client.CreateEndpointConfigAsync(new CreateEndpointConfigRequest
        {
            EndpointConfigName = "d2-config",
            ProductionVariants = [new ProductionVariant { VariantName = "AllTraffic", ModelName = "d2-model", InstanceType = "ml.g5.xlarge", InitialInstanceCount = 1, InitialVariantWeight = 1 }],
        });
        await client.CreateEndpointAsync(new CreateEndpointRequest { EndpointName = "d2-endpoint", EndpointConfigName = "d2-config" });
        var endpoint = await client.DescribeEndpointAsync("d2-endpoint");
        await client.DeleteEndpointAsync("d2-endpoint");

        Assert.That(endpoint.EndpointStatus, Is.EqualTo(EndpointStatus.InService));
        Assert.That(endpoint.ProductionVariants![0].DeployedImages![0].ResolvedImage, Is.EqualTo("img@sha256:abc"));
        Assert.That(_server.Requests.Select(r => r.Header("X-Amz-Target")), Is.EqualTo(new[]
        {
            "SageMaker.CreateModel", "SageMaker.CreateEndpointConfig", "SageMaker.CreateEndpoint", "SageMaker.DescribeEndpoint", "SageMaker.DeleteEndpoint",
        }));
    }
}
