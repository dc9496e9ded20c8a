using System.Net;
using System.Text.Json.Nodes;

namespace D2.Operations.Tests.Local;

[Parallelizable(ParallelScope.All)]
public class RestartTests
{
    [Test]
    public async Task StateSurvivesARestartAndEndpointsAreRedeployed()
    {
        await using var local = await LocalHarness.StartAsync();
        await local.OkAsync("CreateTrainingJob", TrainingRequests.Create("kept-job", TrainingRequests.DataFolder(local.Root), Path.Combine(local.Root, "out")));
        var before = await local.WaitForJobAsync("kept-job", "Completed");
        var tarGz = EndpointRequests.ModelTarGz(local.Root);
        await local.OkAsync("CreateModel", EndpointRequests.Model("kept-model", tarGz, "v1"));
        await local.OkAsync("CreateEndpointConfig", EndpointRequests.Config("kept-config", "kept-model"));
        await local.OkAsync("CreateEndpoint", new JsonObject { ["EndpointName"] = "kept-ep", ["EndpointConfigName"] = "kept-config" });
        await local.WaitForEndpointAsync("kept-ep", "InService");

        await local.RestartAsync();

        var after = await local.OkAsync("DescribeTrainingJob", new JsonObject { ["TrainingJobName"] = "kept-job" });
        Assert.That(after.ToJsonString(), Is.EqualTo(before.ToJsonString()));
        Assert.That(TrainingJobTests.Names(await local.OkAsync("ListTrainingJobs", [])), Is.EqualTo(new[] { "kept-job" }));
        await local.OkAsync("DescribeModel", new JsonObject { ["ModelName"] = "kept-model" });
        await local.OkAsync("DescribeEndpointConfig", new JsonObject { ["EndpointConfigName"] = "kept-config" });
        var endpoint = await local.WaitForEndpointAsync("kept-ep", "InService", "Failed");
        Assert.That((string?)endpoint["EndpointStatus"], Is.EqualTo("InService"), endpoint.ToJsonString());
        using var invoke = await EndpointRequests.InvokeAsync(local.BaseUrl, "kept-ep", "after restart");
        Assert.That(invoke.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // Names stay taken across the restart.
        Assert.That((await local.ErrorAsync("CreateModel", EndpointRequests.Model("kept-model", tarGz, "v1"))).Message, Does.StartWith("Cannot create already existing model"));
    }

    [Test]
    public async Task JobThatWasRunningWhenTheServerWentAwayBecomesFailed()
    {
        var root = LocalHarness.NewTempFolder("d2-local-sm");
        try
        {
            // What a server that died mid-job leaves on disk: an InProgress record whose process is gone.
            await using (var first = await LocalHarness.StartAsync(root))
            {
                await first.OkAsync("CreateTrainingJob", TrainingRequests.Create("orphan", TrainingRequests.DataFolder(root), Path.Combine(root, "out")));
                await first.WaitForJobAsync("orphan", "Completed");
            }
            var recordPath = Path.Combine(root, "state", "training-jobs", "orphan.json");
            var record = JsonNode.Parse(File.ReadAllText(recordPath))!.AsObject();
            record["Description"]!["TrainingJobStatus"] = "InProgress";
            record["Description"]!["SecondaryStatus"] = "Training";
            record["Description"]!.AsObject().Remove("ModelArtifacts");
            record["Local"] = new JsonObject { ["Pid"] = int.MaxValue - 1, ["ProcessStart"] = 0L };
            File.WriteAllText(recordPath, record.ToJsonString());

            await using var second = await LocalHarness.StartAsync(root);
            var job = await second.OkAsync("DescribeTrainingJob", new JsonObject { ["TrainingJobName"] = "orphan" });
            Assert.That((string?)job["TrainingJobStatus"], Is.EqualTo("Failed"));
            Assert.That((string?)job["FailureReason"], Is.EqualTo("local SageMaker restarted while the job was running"));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
