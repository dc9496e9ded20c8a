using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json.Nodes;

namespace D2.Operations.Tests.Local;

[Parallelizable(ParallelScope.All)]
public class TrainingJobTests
{
    [Test]
    public async Task CompletedJobHasContractLayoutMetricsTransitionsAndModelTarGz()
    {
        await using var local = await LocalHarness.StartAsync();
        var data = TrainingRequests.DataFolder(local.Root);
        var output = Path.Combine(local.Root, "out");
        var created = await local.OkAsync("CreateTrainingJob", TrainingRequests.Create("job-ok", data, output));
        Assert.That((string?)created["TrainingJobArn"], Is.EqualTo("arn:aws:sagemaker:us-east-1:000000000000:training-job/job-ok"));

        var job = await local.WaitForJobAsync("job-ok", "Completed", "Failed");
        Assert.That((string?)job["TrainingJobStatus"], Is.EqualTo("Completed"), job.ToJsonString());
        Assert.That((string?)job["SecondaryStatus"], Is.EqualTo("Completed"));
        Assert.That(job["CreationTime"]!.GetValueKind(), Is.EqualTo(System.Text.Json.JsonValueKind.Number));
        Assert.That(job["TrainingStartTime"]!.GetValue<double>(), Is.GreaterThan(1.6e9));
        Assert.That(job["TrainingTimeInSeconds"]!.GetValue<int>(), Is.GreaterThanOrEqualTo(1));
        Assert.That((string?)job["HyperParameters"]!["lr"], Is.EqualTo("0.02"));
        Assert.That((string?)job["ResourceConfig"]!["InstanceType"], Is.EqualTo("ml.m5.xlarge"));
        Assert.That(job["Tags"], Is.Null, "Describe does not echo tags");
        var statuses = job["SecondaryStatusTransitions"]!.AsArray().Select(t => (string)t!["Status"]!).ToList();
        Assert.That(statuses, Is.EqualTo(new[] { "Starting", "Downloading", "Training", "Uploading", "Completed" }));
        Assert.That(job["SecondaryStatusTransitions"]!.AsArray().All(t => t!["EndTime"] is not null && t["StatusMessage"] is not null), Is.True);

        var metrics = job["FinalMetricDataList"]!.AsArray().ToDictionary(m => (string)m!["MetricName"]!, m => m!["Value"]!.GetValue<double>());
        Assert.That(metrics, Is.EqualTo(new Dictionary<string, double> { ["train:loss"] = 0.5, ["accuracy"] = 0.75 }));
        Assert.That(job["FinalMetricDataList"]![0]!["Timestamp"], Is.Not.Null);

        var modelTarGz = Path.Combine(output, "job-ok", "output", "model.tar.gz");
        Assert.That((string?)job["ModelArtifacts"]!["S3ModelArtifacts"], Is.EqualTo(new Uri(modelTarGz).AbsoluteUri));
        var model = ReadTarGz(modelTarGz);
        Assert.That(model.Keys, Is.SupersetOf(new[] { "weights.txt", "sub/nested.txt", "hyperparameters.json", "resourceconfig.json", "inputdataconfig.json" }));
        Assert.That(model["weights.txt"], Is.EqualTo("weights for job-ok\n"));
        Assert.That(ReadTarGz(Path.Combine(output, "job-ok", "output", "output.tar.gz"))["report.txt"], Is.EqualTo("report\n"));

        // The three config files as the training toolkit reads them.
        var hyperparameters = JsonNode.Parse(model["hyperparameters.json"])!.AsObject();
        Assert.That(hyperparameters.Select(kv => kv.Value!.GetValueKind()), Is.All.EqualTo(System.Text.Json.JsonValueKind.String));
        var resources = JsonNode.Parse(model["resourceconfig.json"])!;
        Assert.That((string?)resources["current_host"], Is.EqualTo("algo-1"));
        Assert.That(resources["hosts"]!.AsArray().Select(h => (string?)h), Is.EqualTo(new[] { "algo-1" }));
        Assert.That((string?)resources["current_instance_type"], Is.EqualTo("ml.m5.xlarge"));
        Assert.That((string?)resources["current_group_name"], Is.EqualTo("homogeneousCluster"));
        Assert.That((string?)resources["network_interface_name"], Is.EqualTo("eth0"));
        Assert.That((string?)resources["instance_groups"]![0]!["instance_group_name"], Is.EqualTo("homogeneousCluster"));
        var channels = JsonNode.Parse(model["inputdataconfig.json"])!;
        Assert.That(channels["train"]!.ToJsonString(), Is.EqualTo(
            """{"ContentType":"application/json","TrainingInputMode":"File","S3DistributionType":"FullyReplicated","RecordWrapperType":"None"}"""));

        // Channel data staged, the environment given, the log kept in the job folder.
        var work = Path.Combine(local.Root, "training-jobs", "job-ok");
        Assert.That(File.ReadAllText(Path.Combine(work, "opt", "ml", "input", "data", "train", "images", "a.jpg")), Is.EqualTo("not really a jpeg"));
        var log = File.ReadAllText(Path.Combine(work, "logs", "algo-1.log"));
        Assert.That(log, Does.Contain("args: train"));
        Assert.That(log, Does.Contain("job: job-ok arn: arn:aws:sagemaker:us-east-1:000000000000:training-job/job-ok region: us-east-1 custom: from-request"));
        Assert.That(log, Does.Contain("channel: balloons"));
    }

    [Test]
    public async Task FailureFileBecomesFailureReason()
    {
        await using var local = await LocalHarness.StartAsync();
        await local.OkAsync("CreateTrainingJob", TrainingRequests.Create("job-fail", TrainingRequests.DataFolder(local.Root), Path.Combine(local.Root, "out"), mode: "fail"));
        var job = await local.WaitForJobAsync("job-fail", "Completed", "Failed");
        Assert.That((string?)job["TrainingJobStatus"], Is.EqualTo("Failed"));
        Assert.That((string?)job["SecondaryStatus"], Is.EqualTo("Failed"));
        Assert.That((string?)job["FailureReason"], Is.EqualTo("Something went wrong in the trainer"));
        Assert.That(job["ModelArtifacts"], Is.Null, "a failed job uploads no model");
        Assert.That(job["FinalMetricDataList"]![0]!["Value"]!.GetValue<double>(), Is.EqualTo(2.5));
    }

    [Test]
    public async Task NonZeroExitWithoutFailureFileNamesTheExitCode()
    {
        await using var local = await LocalHarness.StartAsync();
        await local.OkAsync("CreateTrainingJob", TrainingRequests.Create("job-crash", TrainingRequests.DataFolder(local.Root), Path.Combine(local.Root, "out"), mode: "crash"));
        var job = await local.WaitForJobAsync("job-crash", "Completed", "Failed");
        Assert.That((string?)job["FailureReason"], Does.Contain("exited with code 7").And.Contain("algo-1.log"));
    }

    [Test]
    public async Task MissingChannelDataFailsTheJobAtDownload()
    {
        await using var local = await LocalHarness.StartAsync();
        await local.OkAsync("CreateTrainingJob", TrainingRequests.Create("job-nodata", Path.Combine(local.Root, "missing"), Path.Combine(local.Root, "out")));
        var job = await local.WaitForJobAsync("job-nodata", "Completed", "Failed");
        Assert.That((string?)job["FailureReason"], Does.StartWith("ClientError: Data download failed"));
    }

    [Test]
    public async Task StopSendsSigtermAndPacksWhatExistsWithCheckpointsCopiedOut()
    {
        await using var local = await LocalHarness.StartAsync();
        var checkpoints = Path.Combine(local.Root, "checkpoints");
        Directory.CreateDirectory(checkpoints);
        File.WriteAllText(Path.Combine(checkpoints, "previous.txt"), "iteration 100");
        var output = Path.Combine(local.Root, "out");
        await local.OkAsync("CreateTrainingJob", TrainingRequests.Create("job-long", TrainingRequests.DataFolder(local.Root), output, mode: "long", checkpointFolder: checkpoints));

        // Checkpoints written while running are copied out before the job ends.
        await WaitUntilAsync(() => File.Exists(Path.Combine(checkpoints, "early.txt")));
        var running = await local.OkAsync("DescribeTrainingJob", new JsonObject { ["TrainingJobName"] = "job-long" });
        Assert.That((string?)running["TrainingJobStatus"], Is.EqualTo("InProgress"));
        Assert.That((string?)running["SecondaryStatus"], Is.EqualTo("Training"));

        Assert.That((await local.OkAsync("StopTrainingJob", new JsonObject { ["TrainingJobName"] = "job-long" })).Count, Is.Zero);
        var job = await local.WaitForJobAsync("job-long", "Stopped", "Failed", "Completed");
        Assert.That((string?)job["TrainingJobStatus"], Is.EqualTo("Stopped"), job.ToJsonString());
        Assert.That((string?)job["SecondaryStatus"], Is.EqualTo("Stopped"));
        var statuses = job["SecondaryStatusTransitions"]!.AsArray().Select(t => (string)t!["Status"]!).ToList();
        Assert.That(statuses, Is.EqualTo(new[] { "Starting", "Downloading", "Training", "Stopping", "Stopped" }));
        Assert.That(File.ReadAllText(Path.Combine(checkpoints, "at-stop.txt")), Is.EqualTo("checkpoint at stop\n"));
        Assert.That(ReadTarGz(Path.Combine(output, "job-long", "output", "model.tar.gz")), Does.ContainKey("partial.txt"));
        Assert.That(job["ModelArtifacts"], Is.Not.Null);
        var log = File.ReadAllText(Path.Combine(local.Root, "training-jobs", "job-long", "logs", "algo-1.log"));
        Assert.That(log, Does.Contain("resumed: iteration 100").And.Contain("got SIGTERM"));

        // Stopping again is a no-op; a finished job cannot be stopped.
        await local.OkAsync("StopTrainingJob", new JsonObject { ["TrainingJobName"] = "job-long" });
    }

    [Test]
    public async Task ProcessIgnoringSigtermIsKilledAfterTheGracePeriod()
    {
        await using var local = await LocalHarness.StartAsync(configure: o => o.TrainingStopGracePeriod = TimeSpan.FromMilliseconds(500));
        await local.OkAsync("CreateTrainingJob", TrainingRequests.Create("job-stubborn", TrainingRequests.DataFolder(local.Root), Path.Combine(local.Root, "out"), mode: "stubborn"));
        await local.WaitForJobAsync("job-stubborn", "InProgress");
        // The script's trap is set once it writes trapped.txt (a SIGTERM before that would end bash at once).
        await WaitUntilAsync(() => File.Exists(Path.Combine(local.Root, "training-jobs", "job-stubborn", "opt", "ml", "model", "trapped.txt")));
        await local.OkAsync("StopTrainingJob", new JsonObject { ["TrainingJobName"] = "job-stubborn" });
        var job = await local.WaitForJobAsync("job-stubborn", "Stopped", "Failed");
        Assert.That((string?)job["TrainingJobStatus"], Is.EqualTo("Stopped"));
        Assert.That(File.ReadAllText(Path.Combine(local.Root, "training-jobs", "job-stubborn", "logs", "algo-1.log")), Does.Contain("ignoring SIGTERM"));
    }

    [Test]
    public async Task MaxRuntimeStopsTheJob()
    {
        await using var local = await LocalHarness.StartAsync();
        var request = TrainingRequests.Create("job-timeout", TrainingRequests.DataFolder(local.Root), Path.Combine(local.Root, "out"), mode: "long");
        request["StoppingCondition"] = new JsonObject { ["MaxRuntimeInSeconds"] = 1 };
        await local.OkAsync("CreateTrainingJob", request);
        var job = await local.WaitForJobAsync("job-timeout", "Stopped", "Failed", "Completed");
        Assert.That((string?)job["TrainingJobStatus"], Is.EqualTo("Stopped"));
        Assert.That((string?)job["SecondaryStatus"], Is.EqualTo("MaxRuntimeExceeded"));
    }

    [Test]
    public async Task DuplicateUnknownAndFinishedJobsAnswerAsAws()
    {
        await using var local = await LocalHarness.StartAsync();
        var request = TrainingRequests.Create("job-dup", TrainingRequests.DataFolder(local.Root), Path.Combine(local.Root, "out"));
        await local.OkAsync("CreateTrainingJob", request);
        var (type, message) = await local.ErrorAsync("CreateTrainingJob", request);
        Assert.That(type, Is.EqualTo("ResourceInUse"));
        Assert.That(message, Is.EqualTo("Training job names must be unique within an AWS account and region, and a training job with this name already exists (arn:aws:sagemaker:us-east-1:000000000000:training-job/job-dup)"));
        request["TrainingJobName"] = "JOB-DUP";
        Assert.That((await local.ErrorAsync("CreateTrainingJob", request)).Type, Is.EqualTo("ResourceInUse"), "names are case-insensitive");

        Assert.That(await local.ErrorAsync("DescribeTrainingJob", new JsonObject { ["TrainingJobName"] = "nope" }),
            Is.EqualTo(("ResourceNotFound", "Requested resource not found.")));
        Assert.That((await local.ErrorAsync("StopTrainingJob", new JsonObject { ["TrainingJobName"] = "nope" })).Type, Is.EqualTo("ResourceNotFound"));

        await local.WaitForJobAsync("job-dup", "Completed");
        Assert.That(await local.ErrorAsync("StopTrainingJob", new JsonObject { ["TrainingJobName"] = "job-dup" }),
            Is.EqualTo(("ValidationException", "The request was rejected because the training job is in status Completed.")));
    }

    [Test]
    public async Task ListFiltersSortsAndPages()
    {
        await using var local = await LocalHarness.StartAsync();
        var data = TrainingRequests.DataFolder(local.Root);
        foreach (var (name, mode) in new[] { ("list-a", "ok"), ("list-b", "fail"), ("list-c", "ok"), ("other", "ok") })
        {
            await local.OkAsync("CreateTrainingJob", TrainingRequests.Create(name, data, Path.Combine(local.Root, "out"), mode));
            await local.WaitForJobAsync(name, "Completed", "Failed");
        }

        var all = await local.OkAsync("ListTrainingJobs", []);
        Assert.That(Names(all), Is.EqualTo(new[] { "list-a", "list-b", "list-c", "other" }), "default: CreationTime Ascending");
        var summary = all["TrainingJobSummaries"]![0]!.AsObject();
        Assert.That(summary.Select(kv => kv.Key), Is.EquivalentTo(new[] { "TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingEndTime", "LastModifiedTime", "TrainingJobStatus", "SecondaryStatus" }));

        var filtered = await local.OkAsync("ListTrainingJobs", new JsonObject { ["NameContains"] = "list", ["SortBy"] = "Name", ["SortOrder"] = "Descending" });
        Assert.That(Names(filtered), Is.EqualTo(new[] { "list-c", "list-b", "list-a" }));
        Assert.That(Names(await local.OkAsync("ListTrainingJobs", new JsonObject { ["StatusEquals"] = "Failed" })), Is.EqualTo(new[] { "list-b" }));
        var future = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds();
        Assert.That(Names(await local.OkAsync("ListTrainingJobs", new JsonObject { ["CreationTimeAfter"] = future })), Is.Empty);

        var page1 = await local.OkAsync("ListTrainingJobs", new JsonObject { ["MaxResults"] = 3, ["SortBy"] = "Name" });
        Assert.That(Names(page1), Is.EqualTo(new[] { "list-a", "list-b", "list-c" }));
        var page2 = await local.OkAsync("ListTrainingJobs", new JsonObject { ["MaxResults"] = 3, ["SortBy"] = "Name", ["NextToken"] = page1["NextToken"]!.DeepClone() });
        Assert.That(Names(page2), Is.EqualTo(new[] { "other" }));
        Assert.That(page2["NextToken"], Is.Null);
        Assert.That((await local.ErrorAsync("ListTrainingJobs", new JsonObject { ["NextToken"] = "garbage" })).Type, Is.EqualTo("ValidationException"));
    }

    internal static string[] Names(JsonObject list) =>
        [.. list["TrainingJobSummaries"]!.AsArray().Select(s => (string)s!["TrainingJobName"]!)];

    internal static Dictionary<string, string> ReadTarGz(string path)
    {
        var files = new Dictionary<string, string>();
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var tar = new TarReader(gzip);
        while (tar.GetNextEntry() is { } entry)
        {
            if (entry.EntryType is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
            {
                using var reader = new StreamReader(entry.DataStream!);
                files[entry.Name] = reader.ReadToEnd();
            }
        }
        return files;
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail("Timed out waiting for a condition.");
            await Task.Delay(50);
        }
    }
}
