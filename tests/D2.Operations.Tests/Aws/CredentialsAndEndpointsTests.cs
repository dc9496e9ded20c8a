using D2.Operations.Aws;

namespace D2.Operations.Tests.Aws;

/// <summary>Resolution chains. Environment variables are process-wide: these tests set and restore them one at a time.</summary>
[NonParallelizable]
public class CredentialsAndEndpointsTests
{
    private static readonly string[] Variables =
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"];

    private Dictionary<string, string?> _saved = null!;

    [SetUp]
    public void SaveEnvironment() => _saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);

    [TearDown]
    public void RestoreEnvironment()
    {
        foreach (var (name, value) in _saved)
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }

    [Test]
    public async Task CredentialsAndRegionComeFromEnvironmentVariables()
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "ASIAENVEXAMPLE");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "env-secret");
        Environment.SetEnvironmentVariable("AWS_SESSION_TOKEN", "env-token");
        Environment.SetEnvironmentVariable("AWS_REGION", "ap-southeast-2");
        await using var server = await ScriptedAwsServer.StartAsync();
        using var client = new SageMakerClient(new AwsClientOptions { ServiceUrls = { ["sagemaker"] = server.Url }, RetryBaseDelay = TimeSpan.Zero });

        await client.DeleteModelAsync("m");

        var request = server.Requests.Single();
        Assert.That(client.Transport.Region, Is.EqualTo("ap-southeast-2"));
        Assert.That(request.Header("Authorization"), Does.StartWith("AWS4-HMAC-SHA256 Credential=ASIAENVEXAMPLE/"));
        Assert.That(request.Header("Authorization"), Does.Contain("/ap-southeast-2/sagemaker/aws4_request"));
        Assert.That(request.Header("X-Amz-Security-Token"), Is.EqualTo("env-token"));
    }

    [Test]
    public void DefaultRegionVariableIsTheLastFallback()
    {
        Environment.SetEnvironmentVariable("AWS_REGION", null);
        Environment.SetEnvironmentVariable("AWS_PROFILE", "d2-profile-that-does-not-exist");
        Environment.SetEnvironmentVariable("AWS_DEFAULT_REGION", "eu-central-1");

        Assert.That(AwsIdentity.ResolveRegion(new AwsClientOptions()), Is.EqualTo("eu-central-1"));
        Assert.That(AwsIdentity.ResolveRegion(new AwsClientOptions { Region = "us-west-2" }), Is.EqualTo("us-west-2"));
    }

    [TestCase("sagemaker", "us-east-1", false, false, "https://api.sagemaker.us-east-1.amazonaws.com/")]
    [TestCase("sagemaker", "cn-north-1", false, false, "https://api.sagemaker.cn-north-1.amazonaws.com.cn/")]
    [TestCase("sagemaker", "us-gov-west-1", false, false, "https://api.sagemaker.us-gov-west-1.amazonaws.com/")]
    [TestCase("sagemaker", "us-east-1", true, false, "https://api-fips.sagemaker.us-east-1.amazonaws.com/")]
    [TestCase("sagemaker", "us-east-1", false, true, "https://api.sagemaker.us-east-1.api.aws/")]
    [TestCase("sagemaker-runtime", "eu-west-1", false, false, "https://runtime.sagemaker.eu-west-1.amazonaws.com/")]
    [TestCase("sagemaker-runtime", "us-east-1", true, false, "https://runtime-fips.sagemaker.us-east-1.amazonaws.com/")]
    [TestCase("ecr", "cn-northwest-1", false, false, "https://api.ecr.cn-northwest-1.amazonaws.com.cn/")]
    [TestCase("ecr", "us-east-1", true, false, "https://ecr-fips.us-east-1.amazonaws.com/")]
    [TestCase("ecr", "us-east-1", false, true, "https://ecr.us-east-1.api.aws/")]
    [TestCase("sts", "eu-west-1", false, false, "https://sts.eu-west-1.amazonaws.com/")]
    [TestCase("sts", "us-east-1", true, false, "https://sts-fips.us-east-1.amazonaws.com/")]
    public void EndpointResolution(string service, string region, bool fips, bool dualStack, string expected) =>
        Assert.That(AwsEndpoints.Resolve(service, region, fips, dualStack), Is.EqualTo(new Uri(expected)));

    [Test]
    public void TransportUsesTheResolvedEndpointAndSigningName()
    {
        using var runtime = new SageMakerRuntimeClient(new AwsClientOptions { Region = "eu-west-1", Credentials = new Amazon.Runtime.BasicAWSCredentials("a", "b") });
        Assert.That(runtime.Transport.Endpoint, Is.EqualTo(new Uri("https://runtime.sagemaker.eu-west-1.amazonaws.com/")));
        Assert.That(runtime.Transport.Model.Metadata.SigningName, Is.EqualTo("sagemaker"));
    }

    [Test]
    public void S3UriParsing()
    {
        var uri = S3Uri.Parse("s3://my-bucket/datasets/coco/");
        Assert.That(uri, Is.EqualTo(new S3Uri("my-bucket", "datasets/coco/")));
        Assert.That(uri.Append("train.json").ToString(), Is.EqualTo("s3://my-bucket/datasets/coco/train.json"));
        Assert.That(S3Uri.Parse("s3://bucket").Key, Is.EqualTo(""));
        Assert.That(S3Uri.TryParse("file:///tmp/x", out _), Is.False);
        Assert.That(() => S3Uri.Parse("s3:///key"), Throws.TypeOf<FormatException>());
    }
}
