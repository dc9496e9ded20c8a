using System.Text;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using D2.Operations.Aws;

namespace D2.Operations.Tests.Local;

/// <summary>The product's own SageMaker clients against the local SageMaker: its answers must deserialise and its
/// errors map to the same exception types as AWS's.</summary>
[Parallelizable(ParallelScope.All)]
public class TypedClientTests
{
    private static AwsClientOptions Options(LocalHarness local) => new()
    {
        Region = "us-east-1",
        Credentials = new BasicAWSCredentials("test", "test"),
        MaxAttempts = 1,
        ServiceUrls = new Dictionary<string, Uri>(StringComparer.OrdinalIgnoreCase)
        {
            ["sagemaker"] = local.BaseUrl,
            ["sagemaker-runtime"] = local.BaseUrl,
            ["sts"] = local.BaseUrl,
        },
    };

    [Test]
    public async Task TrainingJobThroughSageMakerClient()
    {
        await using var local = await LocalHarness.StartAsync();
        using var client = new SageMakerClient(Options(local));
        await local.OkAsync("CreateTrainingJob", TrainingRequests.Create("typed-job", TrainingRequests.DataFolder(local.Root), Path.Combine(local.Root, "out"), mode: "long"));
        await TrainingJobTests.WaitUntilAsync(() => File.Exists(Path.Combine(local.Root, "training-jobs", "typed-job", "opt", "ml", "model", "hyperparameters.json")));

        var running = await client.DescribeTrainingJobAsync("typed-job");
        Assert.That(running.TrainingJobStatus, Is.EqualTo(D2.SageMaker.Contract.TrainingJobStatus.InProgress));
        Assert.That(running.SecondaryStatus, Is.EqualTo(D2.SageMaker.Contract.SecondaryStatus.Training));
        Assert.That(running.CreationTime, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));

        await client.StopTrainingJobAsync("typed-job");
        await local.WaitForJobAsync("typed-job", "Stopped");
        var stopped = await client.DescribeTrainingJobAsync("typed-job");
        Assert.That(stopped.TrainingJobStatus, Is.EqualTo(D2.SageMaker.Contract.TrainingJobStatus.Stopped));
        Assert.That(stopped.ModelArtifacts?.S3ModelArtifacts, Does.StartWith("file:///").And.EndWith("/typed-job/output/model.tar.gz"));
        Assert.That(stopped.FinalMetricDataList?.Single(m => m.MetricName == "train:loss").Value, Is.EqualTo(1.0));

        var list = await client.ListTrainingJobsAsync(new D2.Operations.Aws.SageMaker.ListTrainingJobsRequest { NameContains = "typed" });
        Assert.That(list.TrainingJobSummaries.Select(s => s.TrainingJobName), Is.EqualTo(new[] { "typed-job" }));

        var missing = await Assert.ThrowsAsync<ResourceNotFoundException>(() => client.DescribeTrainingJobAsync("no-such-job"));
        Assert.That(missing!.ErrorMessage, Is.EqualTo("Requested resource not found."));
    }

    [Test]
    public async Task CreatingThroughTheTypedClientMapsAwsErrorsToTypedExceptions()
    {
        await using var local = await LocalHarness.StartAsync();
        using var client = new SageMakerClient(Options(local));
        var json = TrainingRequests.Create("typed-create", TrainingRequests.DataFolder(local.Root), Path.Combine(local.Root, "out"));
        var request = System.Text.Json.JsonSerializer.Deserialize<D2.Operations.Aws.SageMaker.CreateTrainingJobRequest>(json.ToJsonString(), AwsJson.PascalCase)!;

        // file:// URIs pass the client's validation against a local SageMaker (AWS's model admits only s3:// and https://).
        var created = await client.CreateTrainingJobAsync(request);
        Assert.That(created.TrainingJobArn, Is.EqualTo("arn:aws:sagemaker:us-east-1:000000000000:training-job/typed-create"));
        await local.WaitForJobAsync("typed-create", "Completed");

        var duplicate = await Assert.ThrowsAsync<ResourceInUseException>(() => client.CreateTrainingJobAsync(request));
        Assert.That(duplicate!.ErrorCode, Is.EqualTo("ResourceInUse"));
        Assert.That(duplicate.ErrorMessage, Does.Contain("already exists"));

        // A bad name never leaves the client: it is checked against the model first, with AWS's wording.
        var invalid = await Assert.ThrowsAsync<AwsRequestValidationException>(() => client.CreateTrainingJobAsync(request with { TrainingJobName = "bad_name!" }));
        Assert.That(invalid!.Message, Does.Contain("trainingJobName").And.Contain("bad_name!"));

        // The same request sent past the client's check is refused by the server in AWS's format.
        json["TrainingJobName"] = "bad_name!";
        var (type, message) = await local.ErrorAsync("CreateTrainingJob", json);
        Assert.That(type, Is.EqualTo("ValidationException"));
        Assert.That(message, Does.Contain("Value 'bad_name!' at 'trainingJobName' failed to satisfy constraint"));
    }

    [Test]
    public async Task EndpointThroughSageMakerAndRuntimeClients()
    {
        await using var local = await LocalHarness.StartAsync();
        using var client = new SageMakerClient(Options(local));
        using var runtime = new SageMakerRuntimeClient(Options(local));
        await local.OkAsync("CreateModel", EndpointRequests.Model("typed-model", EndpointRequests.ModelTarGz(local.Root), "typed"));
        await local.OkAsync("CreateEndpointConfig", EndpointRequests.Config("typed-config", "typed-model"));
        await local.OkAsync("CreateEndpoint", new JsonObject { ["EndpointName"] = "typed-ep", ["EndpointConfigName"] = "typed-config" });
        await local.WaitForEndpointAsync("typed-ep", "InService");

        var endpoint = await client.DescribeEndpointAsync("typed-ep");
        Assert.That(endpoint.EndpointStatus, Is.EqualTo(D2.SageMaker.Contract.EndpointStatus.InService));
        Assert.That(endpoint.ProductionVariants!.Single().VariantName, Is.EqualTo("AllTraffic"));

        var answer = await runtime.InvokeEndpointAsync(new D2.Operations.Aws.SageMakerRuntime.InvokeEndpointRequest
        {
            EndpointName = "typed-ep",
            Body = Encoding.UTF8.GetBytes("{\"x\":1}"),
            ContentType = "application/json",
            Accept = "application/json",
        });
        Assert.That(answer.InvokedProductionVariant, Is.EqualTo("AllTraffic"));
        Assert.That((string?)JsonNode.Parse(answer.Body)!["variantEnv"], Is.EqualTo("typed"));

        var modelError = await Assert.ThrowsAsync<ModelErrorException>(() => runtime.InvokeEndpointAsync(new D2.Operations.Aws.SageMakerRuntime.InvokeEndpointRequest
        {
            EndpointName = "typed-ep",
            Body = Encoding.UTF8.GetBytes("fail"),
            ContentType = "text/plain",
        }));
        Assert.That(modelError!.OriginalStatusCode, Is.EqualTo(500));
        Assert.That(modelError.OriginalMessage, Is.EqualTo("stub failure as requested"));

        await Assert.ThrowsAsync<ServiceValidationException>(() => client.DescribeEndpointAsync("no-such-endpoint"));
    }
}
