using System.Net;
using D2.Operations.Aws;

namespace D2.Operations.Tests.Aws;

public class RetryTests
{
    private ScriptedAwsServer _server = null!;

    [SetUp]
    public async Task StartServer() => _server = await ScriptedAwsServer.StartAsync();

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task ThrottlingIsRetriedWithTheSameInvocationId()
    {
        _server.Enqueue(400, """{"__type":"ThrottlingException","message":"Rate exceeded"}""");
        _server.Enqueue(200, """{"EndpointName":"e","EndpointArn":"arn:e","EndpointStatus":"Creating","CreationTime":1,"LastModifiedTime":1}""");
        using var client = new SageMakerClient(AwsTestOptions.For(_server));

        var endpoint = await client.DescribeEndpointAsync("e");

        Assert.That(endpoint.EndpointName, Is.EqualTo("e"));
        var requests = _server.Requests.ToArray();
        Assert.That(requests.Select(r => r.Header("amz-sdk-request")), Is.EqualTo(new[] { "attempt=1", "attempt=2" }));
        Assert.That(requests.Select(r => r.Header("amz-sdk-invocation-id")).Distinct().Count(), Is.EqualTo(1));
    }

    [Test]
    public async Task PersistentThrottlingSurfacesAfterMaxAttempts()
    {
        for (var i = 0; i < 3; i++)
        {
            _server.Enqueue(400, """{"__type":"ThrottlingException","message":"Rate exceeded"}""");
        }

        using var client = new SageMakerClient(AwsTestOptions.For(_server, maxAttempts: 3));

        var error = await Assert.ThrowsAsync<ThrottlingException>(() => client.DescribeEndpointAsync("e"));

        Assert.That(error!.ErrorCode, Is.EqualTo("ThrottlingException"));
        Assert.That(error.ErrorMessage, Is.EqualTo("Rate exceeded"));
        Assert.That(error.RequestId, Is.EqualTo("req-3"));
        Assert.That(_server.Requests, Has.Count.EqualTo(3));
    }

    [TestCase(500)]
    [TestCase(503)]
    public async Task ServerErrorsAreRetriedThenSurface(int status)
    {
        for (var i = 0; i < 4; i++)
        {
            _server.Enqueue(status, """{"__type":"InternalFailure","message":"boom"}""");
        }

        using var client = new SageMakerClient(AwsTestOptions.For(_server, maxAttempts: 4));

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => client.DescribeModelAsync("m"));

        Assert.That(error!.StatusCode, Is.EqualTo((HttpStatusCode)status));
        Assert.That(error.IsServerError, Is.True);
        Assert.That(_server.Requests.Select(r => r.Header("amz-sdk-request")), Is.EqualTo(new[] { "attempt=1", "attempt=2", "attempt=3", "attempt=4" }));
    }

    [Test]
    public async Task ValidationErrorsAreNotRetried()
    {
        _server.Enqueue(400, """{"__type":"ValidationException","message":"Could not find endpoint \"e\"."}""");
        using var client = new SageMakerClient(AwsTestOptions.For(_server));

        var error = await Assert.ThrowsAsync<ServiceValidationException>(() => client.DescribeEndpointAsync("e"));

        Assert.That(error!.Message, Is.EqualTo("ValidationException: Could not find endpoint \"e\"."));
        Assert.That(_server.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ResourceLimitExceededIsNotRetried()
    {
        _server.Enqueue(400, """{"__type":"ResourceLimitExceeded","Message":"quota"}""");
        using var client = new SageMakerClient(AwsTestOptions.For(_server));

        await Assert.ThrowsAsync<ResourceLimitExceededException>(() => client.CreateTrainingJobAsync(SageMakerClientTests.TrainingJob()));
        Assert.That(_server.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task StandardModeSendsMaxInAttemptHeader()
    {
        _server.Enqueue(503, "");
        var options = AwsTestOptions.For(_server);
        using var client = new SageMakerClient(new AwsClientOptions
        {
            Region = options.Region,
            Credentials = options.Credentials,
            ServiceUrls = options.ServiceUrls,
            RetryMode = AwsRetryMode.Standard,
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        });

        await client.DeleteModelAsync("m");

        Assert.That(client.Transport.MaxAttempts, Is.EqualTo(3));
        Assert.That(_server.Requests.Select(r => r.Header("amz-sdk-request")), Is.EqualTo(new[] { "attempt=1; max=3", "attempt=2; max=3" }));
    }

    [Test]
    public async Task ConnectionErrorsAreRetriedThenSurface()
    {
        // A port that was just free: nothing listens there.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new SageMakerClient(new AwsClientOptions
        {
            Region = "us-east-1",
            Credentials = new Amazon.Runtime.BasicAWSCredentials("a", "b"),
            ServiceUrls = { ["sagemaker"] = new Uri($"http://127.0.0.1:{port}/") },
            MaxAttempts = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        });

        await Assert.ThrowsAsync<HttpRequestException>(() => client.DescribeModelAsync("m"));
    }

    [TestCase(AwsRetryMode.Legacy, 400, "Throttling", true)]
    [TestCase(AwsRetryMode.Legacy, 400, "ThrottlingException", true)]
    [TestCase(AwsRetryMode.Legacy, 429, "ModelNotReadyException", true)]
    [TestCase(AwsRetryMode.Legacy, 509, "x", true)]
    [TestCase(AwsRetryMode.Legacy, 424, "ModelError", false)]
    [TestCase(AwsRetryMode.Legacy, 400, "LimitExceededException", false)]
    [TestCase(AwsRetryMode.Standard, 400, "LimitExceededException", true)]
    [TestCase(AwsRetryMode.Standard, 429, "ModelNotReadyException", false)]
    [TestCase(AwsRetryMode.Standard, 400, "RequestTimeout", true)]
    [TestCase(AwsRetryMode.Standard, 400, "ResourceLimitExceeded", false)]
    public void Classification(AwsRetryMode mode, int status, string code, bool retryable) =>
        Assert.That(AwsRetryClassifier.IsRetryable(mode, "sagemaker", (HttpStatusCode)status, code), Is.EqualTo(retryable));

    [Test]
    public void StsIdpErrorIsRetriedOnlyForSts()
    {
        Assert.That(AwsRetryClassifier.IsRetryable(AwsRetryMode.Legacy, "sts", HttpStatusCode.BadRequest, "IDPCommunicationError"), Is.True);
        Assert.That(AwsRetryClassifier.IsRetryable(AwsRetryMode.Legacy, "ecr", HttpStatusCode.BadRequest, "IDPCommunicationError"), Is.False);
    }
}
