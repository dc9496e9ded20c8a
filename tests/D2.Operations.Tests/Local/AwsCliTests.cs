using System.Diagnostics;
using System.Text.Json.Nodes;

namespace D2.Operations.Tests.Local;

/// <summary>The official AWS CLI pointed at the local SageMaker with --endpoint-url (ignored where it is not installed).</summary>
[Parallelizable(ParallelScope.All)]
public class AwsCliTests
{
    [Test]
    public async Task TrainingJobLifecycleThroughTheCli()
    {
        var aws = FindAws();
        await using var local = await LocalHarness.StartAsync();
        var data = TrainingRequests.DataFolder(local.Root);
        var output = new Uri(Path.Combine(local.Root, "out")).AbsoluteUri;
        var channels = new JsonArray(new JsonObject
        {
            ["ChannelName"] = "train",
            ["DataSource"] = new JsonObject { ["S3DataSource"] = new JsonObject { ["S3DataType"] = "S3Prefix", ["S3Uri"] = new Uri(data).AbsoluteUri } },
        }).ToJsonString();

        var created = await RunAsync(aws, local, "sagemaker", "create-training-job", "--training-job-name", "cli-job",
            "--role-arn", "arn:aws:iam::000000000000:role/SageMakerRole",
            "--algorithm-specification", """{"TrainingImage":"d2-trainer:cpu","TrainingInputMode":"File","MetricDefinitions":[{"Name":"loss","Regex":"loss: ([0-9.]+)"}]}""",
            "--hyper-parameters", """{"mode":"long"}""",
            "--input-data-config", channels,
            "--output-data-config", $$"""{"S3OutputPath":"{{output}}"}""",
            "--resource-config", "InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=1",
            "--stopping-condition", "MaxRuntimeInSeconds=600");
        Assert.That((string?)created["TrainingJobArn"], Is.EqualTo("arn:aws:sagemaker:us-east-1:000000000000:training-job/cli-job"));

        var described = await RunAsync(aws, local, "sagemaker", "describe-training-job", "--training-job-name", "cli-job");
        Assert.That((string?)described["TrainingJobStatus"], Is.EqualTo("InProgress"));
        Assert.That((string?)described["TrainingJobName"], Is.EqualTo("cli-job"));

        var listed = await RunAsync(aws, local, "sagemaker", "list-training-jobs", "--name-contains", "cli");
        Assert.That(listed["TrainingJobSummaries"]!.AsArray().Select(s => (string?)s!["TrainingJobName"]), Is.EqualTo(new[] { "cli-job" }));

        await local.WaitForJobAsync("cli-job", "InProgress");
        await TrainingJobTests.WaitUntilAsync(() => File.Exists(Path.Combine(local.Root, "training-jobs", "cli-job", "opt", "ml", "model", "hyperparameters.json")));
        await RunAsync(aws, local, "sagemaker", "stop-training-job", "--training-job-name", "cli-job");
        var stopped = await local.WaitForJobAsync("cli-job", "Stopped", "Failed", "Completed");
        Assert.That((string?)stopped["TrainingJobStatus"], Is.EqualTo("Stopped"));
        described = await RunAsync(aws, local, "sagemaker", "describe-training-job", "--training-job-name", "cli-job");
        Assert.That((string?)described["FinalMetricDataList"]![0]!["MetricName"], Is.EqualTo("loss"));

        var identity = await RunAsync(aws, local, "sts", "get-caller-identity");
        Assert.That((string?)identity["Account"], Is.EqualTo("000000000000"));

        var (code, _, error) = await RunRawAsync(aws, local, "sagemaker", "describe-training-job", "--training-job-name", "no-such-job");
        Assert.That(code, Is.Not.Zero);
        Assert.That(error, Does.Contain("An error occurred (ResourceNotFound) when calling the DescribeTrainingJob operation: Requested resource not found."));
    }

    [Test]
    public async Task EndpointThroughTheCli()
    {
        var aws = FindAws();
        await using var local = await LocalHarness.StartAsync();
        var tarGz = new Uri(EndpointRequests.ModelTarGz(local.Root)).AbsoluteUri;
        await RunAsync(aws, local, "sagemaker", "create-model", "--model-name", "cli-model",
            "--primary-container", $$$"""{"Image":"d2-serving:cpu","ModelDataUrl":"{{{tarGz}}}","Environment":{"STUB_NAME":"cli"}}""");
        await RunAsync(aws, local, "sagemaker", "create-endpoint-config", "--endpoint-config-name", "cli-config",
            "--production-variants", "VariantName=AllTraffic,ModelName=cli-model,InstanceType=ml.m5.large,InitialInstanceCount=1");
        await RunAsync(aws, local, "sagemaker", "create-endpoint", "--endpoint-name", "cli-ep", "--endpoint-config-name", "cli-config");
        await local.WaitForEndpointAsync("cli-ep", "InService");

        var endpoint = await RunAsync(aws, local, "sagemaker", "describe-endpoint", "--endpoint-name", "cli-ep");
        Assert.That((string?)endpoint["EndpointStatus"], Is.EqualTo("InService"));
        Assert.That((string?)endpoint["ProductionVariants"]![0]!["VariantName"], Is.EqualTo("AllTraffic"));
        var list = await RunAsync(aws, local, "sagemaker", "list-endpoints");
        Assert.That(list["Endpoints"]!.AsArray().Select(e => (string?)e!["EndpointName"]), Is.EqualTo(new[] { "cli-ep" }));

        var outFile = Path.Combine(local.Root, "invoke-out.json");
        var invoked = await RunAsync(aws, local, "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", "cli-ep",
            "--body", "hello", "--content-type", "text/plain", "--accept", "application/json", outFile);
        Assert.That((string?)invoked["InvokedProductionVariant"], Is.EqualTo("AllTraffic"));
        Assert.That((string?)JsonNode.Parse(File.ReadAllText(outFile))!["variantEnv"], Is.EqualTo("cli"));

        var (code, _, error) = await RunRawAsync(aws, local, "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", "cli-ep",
            "--body", "fail", "--content-type", "text/plain", outFile);
        Assert.That(code, Is.Not.Zero);
        Assert.That(error, Does.Contain("An error occurred (ModelError) when calling the InvokeEndpoint operation"));

        await RunAsync(aws, local, "sagemaker", "delete-endpoint", "--endpoint-name", "cli-ep");
    }

    private static string FindAws()
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(folder, OperatingSystem.IsWindows() ? "aws.exe" : "aws");
            if (File.Exists(candidate))
                return candidate;
        }
        Assert.Ignore("The AWS CLI (aws) is not on PATH.");
        return "";
    }

    private static async Task<JsonObject> RunAsync(string aws, LocalHarness local, params string[] arguments)
    {
        var (code, output, error) = await RunRawAsync(aws, local, arguments);
        Assert.That(code, Is.Zero, $"aws {string.Join(' ', arguments)}: {error}");
        return string.IsNullOrWhiteSpace(output) ? [] : JsonNode.Parse(output)!.AsObject();
    }

    private static async Task<(int Code, string Output, string Error)> RunRawAsync(string aws, LocalHarness local, params string[] arguments)
    {
        var info = new ProcessStartInfo(aws) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        info.ArgumentList.Add("--endpoint-url");
        info.ArgumentList.Add(local.BaseUrl.ToString().TrimEnd('/'));
        info.ArgumentList.Add("--output");
        info.ArgumentList.Add("json");
        info.Environment["AWS_ACCESS_KEY_ID"] = "test";
        info.Environment["AWS_SECRET_ACCESS_KEY"] = "test";
        info.Environment["AWS_DEFAULT_REGION"] = "us-east-1";
        info.Environment["AWS_CONFIG_FILE"] = Path.Combine(local.Root, "no-aws-config");
        info.Environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(local.Root, "no-aws-credentials");
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        info.Environment["AWS_PAGER"] = "";
        info.Environment["NO_PROXY"] = "127.0.0.1,localhost";
        info.Environment.Remove("AWS_PROFILE");
        info.Environment.Remove("AWS_SESSION_TOKEN");
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
