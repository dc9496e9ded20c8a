using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;
using D2.Operations.Pipeline;
using D2.Operations.Tests.Steps;

namespace D2.Operations.Tests.Pipeline;

/// <summary>Deploy + smoke test + rollback against a real local SageMaker running the serving stub, which answers
/// the inference shape with STUB_ANSWER=detections and garbage (its echo JSON) without it.</summary>
[Parallelizable(ParallelScope.All)]
public class VerifiedDeploymentTests
{
    private static readonly Dictionary<string, string> Good = new() { ["STUB_ANSWER"] = "detections" };

    private static DeploymentProfile Profile(OperationsHarness local, string endpoint, string model, bool good) => new()
    {
        EndpointName = endpoint,
        RoleArn = OperationsHarness.RoleArn,
        Image = "d2-serving:stub",
        InstanceType = "ml.m5.large",
        ModelDataUrl = local.ModelTarGz(model, model + ".bin"),
        Environment = good ? Good : new Dictionary<string, string>(),
    };

    [Test]
    public async Task Smoke_failure_after_an_update_rolls_back_to_the_previous_endpoint_config()
    {
        await using var local = await OperationsHarness.StartAsync();
        var verified = new VerifiedDeployment(local.Context);
        var first = await verified.DeployAsync(Profile(local, "rollback", "first", good: true), null, null, OperationsHarness.Poll, TimeSpan.FromSeconds(30));
        Assert.That(first.Detections, Is.EqualTo(1));
        await WaitForNextSecondAsync("rollback", first.Deployment.EndpointConfigName);

        var progress = new ProgressLog<EndpointProgress>();
        var error = await Assert.ThrowsAsync<DeploymentRolledBackException>(() =>
            verified.DeployAsync(Profile(local, "rollback", "second", good: false) with { DeletePrevious = true }, null, progress,
                OperationsHarness.Poll, TimeSpan.FromSeconds(30)));

        Assert.That(error!.Cause, Does.Contain("smoke test failed").And.Contain("lacks pred_boxes"));
        Assert.That(error.Rollback, Does.Contain($"previous endpoint config {first.Deployment.EndpointConfigName}"));
        var endpoint = await local.Context.SageMaker.DescribeEndpointAsync("rollback");
        Assert.That(endpoint.EndpointStatus, Is.EqualTo(EndpointStatus.InService));
        Assert.That(endpoint.EndpointConfigName, Is.EqualTo(first.Deployment.EndpointConfigName));
        // The endpoint answers as the first deployment again, and the failed deployment's config and model are gone.
        var answer = await local.Context.Endpoints.InvokeAsync("rollback", SmokeCheck.DefaultImage(), "image/jpeg");
        Assert.That(SmokeCheck.Problem(answer.Body), Is.Null);
        var failedConfig = error.Rollback.Split("removed endpoint config ")[1].Split(',')[0];
        Assert.That(failedConfig, Is.Not.EqualTo(first.Deployment.EndpointConfigName));
        Assert.That(() => local.Context.SageMaker.DescribeEndpointConfigAsync(failedConfig), Throws.InstanceOf<AwsServiceException>());
        Assert.That(await local.Context.SageMaker.DescribeEndpointConfigAsync(first.Deployment.EndpointConfigName), Is.Not.Null);
        Assert.That(progress.Items.Select(p => p.Message), Has.Some.StartsWith("smoke test failed"));
    }

    [Test]
    public async Task Smoke_failure_of_a_new_endpoint_deletes_it()
    {
        await using var local = await OperationsHarness.StartAsync();
        var error = await Assert.ThrowsAsync<DeploymentRolledBackException>(() => new VerifiedDeployment(local.Context)
            .DeployAsync(Profile(local, "fresh", "only", good: false), null, null, OperationsHarness.Poll, TimeSpan.FromSeconds(30)));

        Assert.That(error!.Rollback, Does.Contain("deleted endpoint fresh"));
        Assert.That(() => local.Context.SageMaker.DescribeEndpointAsync("fresh"), Throws.InstanceOf<AwsServiceException>());
        Assert.That(error.Rollback, Does.Contain("removed endpoint config fresh-"));
        var config = error.Rollback.Split("removed endpoint config ")[1].Split(',')[0];
        Assert.That(() => local.Context.SageMaker.DescribeEndpointConfigAsync(config), Throws.InstanceOf<AwsServiceException>());
    }

    [Test]
    public async Task Container_that_never_starts_on_update_leaves_the_previous_config_serving()
    {
        await using var local = await OperationsHarness.StartAsync();
        var verified = new VerifiedDeployment(local.Context);
        var first = await verified.DeployAsync(Profile(local, "crash", "first", good: true), null, null, OperationsHarness.Poll, TimeSpan.FromSeconds(30));
        await WaitForNextSecondAsync("crash", first.Deployment.EndpointConfigName);

        var error = await Assert.ThrowsAsync<DeploymentRolledBackException>(() => verified.DeployAsync(
            Profile(local, "crash", "second", good: true) with { Environment = new Dictionary<string, string>(Good) { ["STUB_FAIL_START"] = "1" } },
            null, null, OperationsHarness.Poll, TimeSpan.FromSeconds(30)));

        Assert.That(error!.InnerException, Is.InstanceOf<EndpointFailedException>());
        var endpoint = await local.Context.SageMaker.DescribeEndpointAsync("crash");
        Assert.That(endpoint.EndpointStatus, Is.EqualTo(EndpointStatus.InService));
        Assert.That(endpoint.EndpointConfigName, Is.EqualTo(first.Deployment.EndpointConfigName));
    }

    [Test]
    public async Task Passing_update_with_DeletePrevious_removes_the_old_config_only_after_the_smoke_test()
    {
        await using var local = await OperationsHarness.StartAsync();
        var verified = new VerifiedDeployment(local.Context);
        var first = await verified.DeployAsync(Profile(local, "ok", "first", good: true), null, null, OperationsHarness.Poll, TimeSpan.FromSeconds(30));
        await WaitForNextSecondAsync("ok", first.Deployment.EndpointConfigName);
        var second = await verified.DeployAsync(Profile(local, "ok", "second", good: true) with { DeletePrevious = true }, null, null,
            OperationsHarness.Poll, TimeSpan.FromSeconds(30));

        Assert.That(second.Deployment.Updated, Is.True);
        Assert.That(second.DeletedPrevious, Does.Contain($"endpoint config {first.Deployment.EndpointConfigName}"));
        Assert.That((await local.Context.SageMaker.DescribeEndpointAsync("ok")).EndpointConfigName, Is.EqualTo(second.Deployment.EndpointConfigName));
    }

    private static async Task WaitForNextSecondAsync(string endpoint, string previousName)
    {
        while (ResourceNames.Timestamped(endpoint, DateTimeOffset.UtcNow) == previousName)
            await Task.Delay(50);
    }
}
