using System.Net;
using System.Text.Json.Nodes;

namespace D2.Operations.Tests.Local;

[Parallelizable(ParallelScope.All)]
public class EndpointTests
{
    [Test]
    public async Task CreateInvokeModelErrorUpdateDelete()
    {
        await using var local = await LocalHarness.StartAsync();
        var tarGz = EndpointRequests.ModelTarGz(local.Root);
        var modelArn = (await local.OkAsync("CreateModel", EndpointRequests.Model("m1", tarGz, "v1")))["ModelArn"];
        Assert.That((string?)modelArn, Is.EqualTo("arn:aws:sagemaker:us-east-1:000000000000:model/m1"));
        var model = await local.OkAsync("DescribeModel", new JsonObject { ["ModelName"] = "m1" });
        Assert.That(model.Select(kv => kv.Key), Is.EquivalentTo(new[] { "ModelName", "PrimaryContainer", "ExecutionRoleArn", "CreationTime", "ModelArn", "EnableNetworkIsolation" }));
        await local.OkAsync("CreateEndpointConfig", EndpointRequests.Config("c1", "m1"));
        var config = await local.OkAsync("DescribeEndpointConfig", new JsonObject { ["EndpointConfigName"] = "c1" });
        Assert.That((string?)config["EndpointConfigArn"], Is.EqualTo("arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/c1"));
        Assert.That((string?)config["ProductionVariants"]![0]!["ModelName"], Is.EqualTo("m1"));

        var created = await local.OkAsync("CreateEndpoint", new JsonObject { ["EndpointName"] = "ep", ["EndpointConfigName"] = "c1" });
        Assert.That((string?)created["EndpointArn"], Is.EqualTo("arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep"));
        var endpoint = await local.WaitForEndpointAsync("ep", "InService", "Failed");
        Assert.That((string?)endpoint["EndpointStatus"], Is.EqualTo("InService"), endpoint.ToJsonString());
        var variant = endpoint["ProductionVariants"]![0]!;
        Assert.That((string?)variant["VariantName"], Is.EqualTo("AllTraffic"));
        Assert.That((string?)variant["DeployedImages"]![0]!["SpecifiedImage"], Does.EndWith("d2-serving:cpu"));
        Assert.That(variant["CurrentInstanceCount"]!.GetValue<int>(), Is.EqualTo(1));

        using (var ok = await EndpointRequests.InvokeAsync(local.BaseUrl, "ep", "hello", customAttributes: "trace=1"))
        {
            Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK), await ok.Content.ReadAsStringAsync());
            Assert.That(ok.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
            Assert.That(ok.Headers.GetValues("x-Amzn-Invoked-Production-Variant").Single(), Is.EqualTo("AllTraffic"));
            Assert.That(ok.Headers.GetValues("X-Amzn-SageMaker-Custom-Attributes").Single(), Is.EqualTo("echo:trace=1"));
            var answer = JsonNode.Parse(await ok.Content.ReadAsStringAsync())!;
            Assert.That(answer["length"]!.GetValue<int>(), Is.EqualTo(5));
            Assert.That((string?)answer["contentType"], Is.EqualTo("text/plain"));
            Assert.That((string?)answer["accept"], Is.EqualTo("application/json"));
            Assert.That(answer["model"]!.AsArray().Select(f => (string?)f), Is.EqualTo(new[] { "weights.bin" }));
            Assert.That((string?)answer["variantEnv"], Is.EqualTo("v1"));
        }

        using (var failed = await EndpointRequests.InvokeAsync(local.BaseUrl, "ep", "fail"))
        {
            Assert.That((int)failed.StatusCode, Is.EqualTo(424));
            Assert.That(failed.Headers.GetValues("x-amzn-ErrorType").Single(), Is.EqualTo("ModelError"));
            var error = JsonNode.Parse(await failed.Content.ReadAsStringAsync())!;
            Assert.That((string?)error["__type"], Is.EqualTo("ModelError"));
            Assert.That(error["OriginalStatusCode"]!.GetValue<int>(), Is.EqualTo(500));
            Assert.That((string?)error["OriginalMessage"], Is.EqualTo("stub failure as requested"));
            Assert.That((string?)error["Message"], Does.StartWith("Received server error (500) from primary with message \"stub failure as requested\""));
        }

        // Update: a new process with the new model's environment takes over.
        await local.OkAsync("CreateModel", EndpointRequests.Model("m2", tarGz, "v2"));
        await local.OkAsync("CreateEndpointConfig", EndpointRequests.Config("c2", "m2"));
        await local.OkAsync("UpdateEndpoint", new JsonObject { ["EndpointName"] = "ep", ["EndpointConfigName"] = "c2" });
        Assert.That((await local.ErrorAsync("UpdateEndpoint", new JsonObject { ["EndpointName"] = "ep", ["EndpointConfigName"] = "c2" })).Message,
            Is.EqualTo("Cannot update in-progress endpoint \"arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep\"."));
        endpoint = await local.WaitForEndpointAsync("ep", "InService");
        Assert.That((string?)endpoint["EndpointConfigName"], Is.EqualTo("c2"));
        using (var updated = await EndpointRequests.InvokeAsync(local.BaseUrl, "ep", "again"))
            Assert.That((string?)JsonNode.Parse(await updated.Content.ReadAsStringAsync())!["variantEnv"], Is.EqualTo("v2"));

        // An update whose container never gets healthy rolls back and keeps serving the old configuration.
        await local.OkAsync("CreateModel", EndpointRequests.Model("m-broken", tarGz, "v3", failStart: true));
        await local.OkAsync("CreateEndpointConfig", EndpointRequests.Config("c-broken", "m-broken"));
        await local.OkAsync("UpdateEndpoint", new JsonObject { ["EndpointName"] = "ep", ["EndpointConfigName"] = "c-broken" });
        endpoint = await local.WaitForEndpointAsync("ep", "InService");
        Assert.That((string?)endpoint["EndpointConfigName"], Is.EqualTo("c2"));
        Assert.That((string?)endpoint["FailureReason"], Does.Contain("rolled back").And.Contain("refusing to start"));

        var listed = await local.OkAsync("ListEndpoints", new JsonObject { ["StatusEquals"] = "InService" });
        Assert.That(listed["Endpoints"]!.AsArray().Select(e => (string?)e!["EndpointName"]), Is.EqualTo(new[] { "ep" }));

        await local.OkAsync("DeleteEndpoint", new JsonObject { ["EndpointName"] = "ep" });
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await local.CallAsync("DescribeEndpoint", new JsonObject { ["EndpointName"] = "ep" })).Status == HttpStatusCode.OK && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.That(await local.ErrorAsync("DescribeEndpoint", new JsonObject { ["EndpointName"] = "ep" }),
            Is.EqualTo(("ValidationException", "Could not find endpoint \"arn:aws:sagemaker:us-east-1:000000000000:endpoint/ep\".")));
        using var gone = await EndpointRequests.InvokeAsync(local.BaseUrl, "ep", "hello");
        Assert.That(gone.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string?)JsonNode.Parse(await gone.Content.ReadAsStringAsync())!["message"], Is.EqualTo("Endpoint ep of account 000000000000 not found."));

        await local.OkAsync("DeleteEndpointConfig", new JsonObject { ["EndpointConfigName"] = "c1" });
        await local.OkAsync("DeleteModel", new JsonObject { ["ModelName"] = "m1" });
        Assert.That((await local.ErrorAsync("DescribeModel", new JsonObject { ["ModelName"] = "m1" })).Message,
            Is.EqualTo("Could not find model \"arn:aws:sagemaker:us-east-1:000000000000:model/m1\"."));
    }

    [Test]
    public async Task ContainerThatNeverAnswersPingFailsTheEndpoint()
    {
        await using var local = await LocalHarness.StartAsync();
        var tarGz = EndpointRequests.ModelTarGz(local.Root);
        await local.OkAsync("CreateModel", EndpointRequests.Model("broken", tarGz, "x", failStart: true));
        await local.OkAsync("CreateEndpointConfig", EndpointRequests.Config("broken-config", "broken"));
        await local.OkAsync("CreateEndpoint", new JsonObject { ["EndpointName"] = "broken-ep", ["EndpointConfigName"] = "broken-config" });
        var endpoint = await local.WaitForEndpointAsync("broken-ep", "InService", "Failed");
        Assert.That((string?)endpoint["EndpointStatus"], Is.EqualTo("Failed"));
        Assert.That((string?)endpoint["FailureReason"], Does.Contain("did not pass the ping health check").And.Contain("exited with code 3").And.Contain("refusing to start"));
        Assert.That((await local.ErrorAsync("UpdateEndpoint", new JsonObject { ["EndpointName"] = "broken-ep", ["EndpointConfigName"] = "broken-config" })).Message,
            Does.StartWith("Cannot update failed endpoint"));
        using var invoke = await EndpointRequests.InvokeAsync(local.BaseUrl, "broken-ep", "x");
        Assert.That(invoke.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(invoke.Headers.GetValues("x-amzn-ErrorType").Single(), Is.EqualTo("ValidationError"));
    }

    [Test]
    public async Task DuplicateAndUnknownResourcesAnswerAsAws()
    {
        await using var local = await LocalHarness.StartAsync();
        var tarGz = EndpointRequests.ModelTarGz(local.Root);
        await local.OkAsync("CreateModel", EndpointRequests.Model("dup-model", tarGz, "x"));
        Assert.That(await local.ErrorAsync("CreateModel", EndpointRequests.Model("dup-model", tarGz, "x")),
            Is.EqualTo(("ValidationException", "Cannot create already existing model \"arn:aws:sagemaker:us-east-1:000000000000:model/dup-model\".")));
        Assert.That((await local.ErrorAsync("CreateEndpointConfig", EndpointRequests.Config("cfg", "no-such-model"))).Message,
            Is.EqualTo("Could not find model \"arn:aws:sagemaker:us-east-1:000000000000:model/no-such-model\"."));
        await local.OkAsync("CreateEndpointConfig", EndpointRequests.Config("cfg", "dup-model"));
        Assert.That((await local.ErrorAsync("CreateEndpointConfig", EndpointRequests.Config("cfg", "dup-model"))).Message,
            Is.EqualTo("Cannot create already existing endpoint configuration \"arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/cfg\"."));
        Assert.That((await local.ErrorAsync("DescribeEndpointConfig", new JsonObject { ["EndpointConfigName"] = "nope" })).Message,
            Is.EqualTo("Could not find endpoint configuration \"arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/nope\"."));
        Assert.That((await local.ErrorAsync("CreateEndpoint", new JsonObject { ["EndpointName"] = "e", ["EndpointConfigName"] = "nope" })).Message,
            Does.StartWith("Could not find endpoint configuration"));
        Assert.That((await local.ErrorAsync("DeleteEndpoint", new JsonObject { ["EndpointName"] = "nope" })).Message,
            Is.EqualTo("Could not find endpoint \"arn:aws:sagemaker:us-east-1:000000000000:endpoint/nope\"."));
        var badModel = EndpointRequests.Model("s3-model", tarGz, "x");
        badModel["PrimaryContainer"]!["ModelDataUrl"] = "s3://bucket/model.tar.gz";
        Assert.That((await local.ErrorAsync("CreateModel", badModel)).Message, Does.Contain("file:// URIs only"));
        Assert.That((await local.ErrorAsync("CreateModel", new JsonObject { ["ModelName"] = "-bad-" })).Message,
            Does.Contain("at 'modelName' failed to satisfy constraint: Member must satisfy regular expression pattern"));

        await local.OkAsync("CreateEndpoint", new JsonObject { ["EndpointName"] = "dup-ep", ["EndpointConfigName"] = "cfg" });
        Assert.That((await local.ErrorAsync("CreateEndpoint", new JsonObject { ["EndpointName"] = "dup-ep", ["EndpointConfigName"] = "cfg" })).Message,
            Is.EqualTo("Cannot create already existing endpoint \"arn:aws:sagemaker:us-east-1:000000000000:endpoint/dup-ep\"."));
        await local.WaitForEndpointAsync("dup-ep", "InService");
    }
}
