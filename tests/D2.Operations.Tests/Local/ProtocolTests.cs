using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace D2.Operations.Tests.Local;

[Parallelizable(ParallelScope.All)]
public class ProtocolTests
{
    [Test]
    public async Task InvalidParametersAnswerValidationExceptionInAwsWording()
    {
        await using var local = await LocalHarness.StartAsync();
        var request = TrainingRequests.Create("bad_name", TrainingRequests.DataFolder(local.Root), Path.Combine(local.Root, "out"));
        request["ResourceConfig"]!["InstanceType"] = "ml.bogus.xlarge";
        var (type, message) = await local.ErrorAsync("CreateTrainingJob", request);
        Assert.That(type, Is.EqualTo("ValidationException"));
        Assert.That(message, Does.StartWith("2 validation errors detected: "));
        Assert.That(message, Does.Contain("Value 'bad_name' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: "));
        Assert.That(message, Does.Contain("Value 'ml.bogus.xlarge' at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy enum value set: ["));
        Assert.That(Directory.Exists(Path.Combine(local.Root, "training-jobs", "bad_name")), Is.False);

        var (missingType, missing) = await local.ErrorAsync("CreateTrainingJob", new JsonObject { ["TrainingJobName"] = "x" });
        Assert.That(missingType, Is.EqualTo("ValidationException"));
        Assert.That(missing, Does.Contain("Value null at 'roleArn' failed to satisfy constraint: Member must not be null"));
    }

    [Test]
    public async Task S3UrisAreRefusedWithAnExplanation()
    {
        await using var local = await LocalHarness.StartAsync();
        var request = TrainingRequests.Create("job-s3", TrainingRequests.DataFolder(local.Root), Path.Combine(local.Root, "out"));
        request["OutputDataConfig"]!["S3OutputPath"] = "s3://bucket/output";
        var (type, message) = await local.ErrorAsync("CreateTrainingJob", request);
        Assert.That(type, Is.EqualTo("ValidationException"));
        Assert.That(message, Does.Contain("'outputDataConfig.s3OutputPath'").And.Contain("file:// URIs only"));
    }

    [Test]
    public async Task UnknownOperationMalformedJsonAndOtherPaths()
    {
        await using var local = await LocalHarness.StartAsync();
        Assert.That((await local.ErrorAsync("CreateProcessingJob", [])).Type, Is.EqualTo("UnknownOperationException"));

        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var malformed = new HttpRequestMessage(HttpMethod.Post, local.BaseUrl) { Content = new StringContent("{not json", Encoding.UTF8, "application/x-amz-json-1.1") };
        malformed.Headers.Add("X-Amz-Target", "SageMaker.ListEndpoints");
        using var answer = await http.SendAsync(malformed);
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That((string?)JsonNode.Parse(await answer.Content.ReadAsStringAsync())!["__type"], Is.EqualTo("SerializationException"));

        using var noTarget = new HttpRequestMessage(HttpMethod.Post, local.BaseUrl) { Content = new StringContent("{}", Encoding.UTF8, "application/x-amz-json-1.1") };
        using var noTargetAnswer = await http.SendAsync(noTarget);
        Assert.That((string?)JsonNode.Parse(await noTargetAnswer.Content.ReadAsStringAsync())!["__type"], Is.EqualTo("UnknownOperationException"));

        // An operation without input may send an empty body.
        using var empty = new HttpRequestMessage(HttpMethod.Post, local.BaseUrl) { Content = new ByteArrayContent([]) };
        empty.Headers.Add("X-Amz-Target", "SageMaker.ListTrainingJobs");
        using var emptyAnswer = await http.SendAsync(empty);
        Assert.That(emptyAnswer.StatusCode, Is.EqualTo(HttpStatusCode.OK), await emptyAnswer.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task StsGetCallerIdentityAnswersTheLocalAccount()
    {
        await using var local = await LocalHarness.StartAsync();
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var answer = await http.PostAsync(local.BaseUrl, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Action"] = "GetCallerIdentity",
            ["Version"] = "2011-06-15",
        }));
        var xml = System.Xml.Linq.XDocument.Parse(await answer.Content.ReadAsStringAsync());
        System.Xml.Linq.XNamespace ns = "https://sts.amazonaws.com/doc/2011-06-15/";
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(xml.Root!.Name, Is.EqualTo(ns + "GetCallerIdentityResponse"));
        Assert.That(xml.Root.Element(ns + "GetCallerIdentityResult")!.Element(ns + "Account")!.Value, Is.EqualTo("000000000000"));
    }
}
