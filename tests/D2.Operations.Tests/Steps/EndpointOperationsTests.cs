using System.Text;
using System.Text.Json.Nodes;
using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;

namespace D2.Operations.Tests.Steps;

/// <summary>Deploy (create, then update), invoke and delete against a real local SageMaker running the serving stub.</summary>
[Parallelizable(ParallelScope.All)]
public class EndpointOperationsTests
{
    private static DeploymentProfile Profile(string endpoint) => new()
    {
        EndpointName = endpoint,
        RoleArn = OperationsHarness.RoleArn,
        Repository = "d2-serving",
        Version = "1.0.0",
        InstanceType = "ml.m5.large",
        GitRevision = "0123abc",
    };

    [Test]
    public async Task CreateUpdateInvokeAndDeleteWithConfigAndModels()
    {
        await using var local = await OperationsHarness.StartAsync();
        var endpoints = local.Context.Endpoints;
        var sageMaker = local.Context.SageMaker;

        // Create from a model.tar.gz URI.
        var progress = new ProgressLog<EndpointProgress>();
        var created = await endpoints.DeployAsync(Profile("balloon") with { ModelDataUrl = local.ModelTarGz("first", "first.bin") },
            progress, OperationsHarness.Poll, TimeSpan.FromSeconds(30));
        Assert.That(created.Updated, Is.False);
        Assert.That(created.ModelName, Does.Match("^balloon-[0-9]{8}-[0-9]{6}$"));
        Assert.That(created.EndpointConfigName, Is.EqualTo(created.ModelName));
        Assert.That(created.Image, Is.EqualTo("000000000000.dkr.ecr.us-east-1.amazonaws.com/d2-serving:1.0.0-cpu"));
        Assert.That(created.Endpoint.EndpointStatus, Is.EqualTo(EndpointStatus.InService));
        Assert.That(progress.Items.Select(p => p.Status), Does.Contain(EndpointStatus.Creating).And.Contain(EndpointStatus.InService));
        Assert.That(await ModelFilesAsync(endpoints, "balloon"), Is.EqualTo(new[] { "first.bin" }));
        var config = await sageMaker.DescribeEndpointConfigAsync(created.EndpointConfigName);
        Assert.That(config.ProductionVariants.Single(), Is.EqualTo(new ProductionVariant
        {
            VariantName = "AllTraffic", ModelName = created.ModelName, InstanceType = "ml.m5.large", InitialInstanceCount = 1, InitialVariantWeight = 1,
        }));

        // Update from a training job's artifacts; the names carry the second, so wait for the next one.
        var job = await local.Context.Training.StartTrainingAsync(local.Profile("ok"));
        await local.Context.Training.WaitForTrainingAsync(job.JobName, null, OperationsHarness.Poll);
        await WaitForNextSecondAsync(created.ModelName);
        progress = new ProgressLog<EndpointProgress>();
        var updated = await endpoints.DeployAsync(Profile("balloon") with { TrainingJobName = job.JobName, DeletePrevious = true },
            progress, OperationsHarness.Poll, TimeSpan.FromSeconds(30));
        Assert.That(updated.Updated, Is.True);
        Assert.That(updated.PreviousEndpointConfigName, Is.EqualTo(created.EndpointConfigName));
        Assert.That(updated.ModelDataUrl, Does.EndWith($"/{job.JobName}/output/model.tar.gz"));
        Assert.That(updated.Endpoint.EndpointConfigName, Is.EqualTo(updated.EndpointConfigName));
        Assert.That(progress.Items.Select(p => p.Status), Does.Contain(EndpointStatus.Updating));
        Assert.That(updated.DeletedResources, Is.EqualTo(new[] { $"endpoint config {created.EndpointConfigName}", $"model {created.ModelName}" }));
        Assert.That(await ModelFilesAsync(endpoints, "balloon"), Does.Contain("model_final.safetensors"));
        Assert.That(() => sageMaker.DescribeModelAsync(created.ModelName), Throws.InstanceOf<ServiceValidationException>());

        // Delete the endpoint, its config and its model, and wait until it is gone.
        progress = new ProgressLog<EndpointProgress>();
        var deletion = await endpoints.DeleteEndpointAsync("balloon", deleteConfigAndModels: true, progress, OperationsHarness.Poll, TimeSpan.FromSeconds(30));
        Assert.That(deletion.Existed, Is.True);
        Assert.That(deletion.DeletedResources, Is.EqualTo(new[]
        {
            "endpoint balloon", $"endpoint config {updated.EndpointConfigName}", $"model {updated.ModelName}",
        }));
        Assert.That(progress.Items[^1].Message, Is.EqualTo("deleted"));
        Assert.That(() => sageMaker.DescribeEndpointAsync("balloon"), Throws.InstanceOf<ServiceValidationException>());
        Assert.That(() => sageMaker.DescribeEndpointConfigAsync(updated.EndpointConfigName), Throws.InstanceOf<ServiceValidationException>());
        Assert.That(() => sageMaker.DescribeModelAsync(updated.ModelName), Throws.InstanceOf<ServiceValidationException>());

        var again = await endpoints.DeleteEndpointAsync("balloon", deleteConfigAndModels: true);
        Assert.That(again.Existed, Is.False);
    }

    [Test]
    public async Task ContainerThatNeverStartsFailsTheDeploymentWithTheReason()
    {
        await using var local = await OperationsHarness.StartAsync();
        var profile = Profile("broken") with
        {
            ModelDataUrl = local.ModelTarGz("broken", "weights.bin"),
            Environment = new Dictionary<string, string> { ["STUB_FAIL_START"] = "1" },
        };

        var error = await Assert.ThrowsAsync<EndpointFailedException>(() =>
            local.Context.Endpoints.DeployAsync(profile, null, OperationsHarness.Poll, TimeSpan.FromSeconds(30)));

        Assert.That(error!.Status, Is.EqualTo(EndpointStatus.Failed));
        Assert.That(error.FailureReason, Is.Not.Empty);
        Assert.That(error.Message, Does.Contain("broken").And.Contain(error.FailureReason!));
        var updateOfFailed = await Assert.ThrowsAsync<EndpointFailedException>(() => local.Context.Endpoints.DeployAsync(profile));
        Assert.That(updateOfFailed!.Message, Does.Contain("delete it"));
    }

    [Test]
    public async Task DeployingAnUnfinishedTrainingJobNamesTheField()
    {
        await using var local = await OperationsHarness.StartAsync();
        var job = await local.Context.Training.StartTrainingAsync(local.Profile("long", prefix: "unfinished"));

        var error = await Assert.ThrowsAsync<InvalidProfileException>(() =>
            local.Context.Endpoints.DeployAsync(Profile("early") with { TrainingJobName = job.JobName }));

        Assert.That(error!.Field, Is.EqualTo("trainingJobName"));
        Assert.That(error.Message, Does.Contain(job.JobName).And.Contain("InProgress"));
        await local.Context.Training.StopTrainingAsync(job.JobName);
    }

    [Test]
    public async Task WaitsTimeOutNamingTheEndpointAndMissingEndpointsFailTheWait()
    {
        await using var local = await OperationsHarness.StartAsync();
        var profile = Profile("slow") with { ModelDataUrl = local.ModelTarGz("slow", "weights.bin") };

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() =>
            local.Context.Endpoints.DeployAsync(profile, null, OperationsHarness.Poll, TimeSpan.FromMilliseconds(1)));
        Assert.That(timeout!.Message, Does.StartWith("Endpoint slow is still Creating after waiting"));

        // EndpointInService treats the missing endpoint's ValidationException as a failure, not something to wait out.
        Assert.That(() => local.Context.Endpoints.WaitForEndpointAsync("missing", null, OperationsHarness.Poll),
            Throws.InstanceOf<ServiceValidationException>().With.Message.Contains("Could not find endpoint"));
        Assert.That((await local.Context.Endpoints.WaitForEndpointAsync("slow", null, OperationsHarness.Poll, TimeSpan.FromSeconds(30))).EndpointStatus,
            Is.EqualTo(EndpointStatus.InService));
    }

    private static async Task<string[]> ModelFilesAsync(EndpointOperations endpoints, string endpoint)
    {
        var answer = await endpoints.InvokeAsync(endpoint, Encoding.UTF8.GetBytes("{\"image\":1}"), "application/json");
        Assert.That(answer.InvokedProductionVariant, Is.EqualTo(EndpointOperations.VariantName));
        var body = JsonNode.Parse(answer.Body)!;
        Assert.That((string?)body["accept"], Is.EqualTo("application/json"));
        return [.. body["model"]!.AsArray().Select(f => (string)f!)];
    }

    /// <summary>Model and config names have one-second resolution; a second deployment in the same second would collide.</summary>
    private static async Task WaitForNextSecondAsync(string previousName)
    {
        while (ResourceNames.Timestamped("balloon", DateTimeOffset.UtcNow) == previousName)
            await Task.Delay(50);
    }
}
