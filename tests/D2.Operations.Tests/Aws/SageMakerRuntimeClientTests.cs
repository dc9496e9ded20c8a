using D2.Operations.Aws;
using D2.Operations.Aws.SageMakerRuntime;

namespace D2.Operations.Tests.Aws;

public class SageMakerRuntimeClientTests
{
    private ScriptedAwsServer _server = null!;

    [SetUp]
    public async Task StartServer() => _server = await ScriptedAwsServer.StartAsync();

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task InvokeEndpointSendsRawBodyAndHeaders()
    {
        _server.Enqueue(200, """{"scores":[0.9]}""",
            ("Content-Type", "application/json"),
            ("x-Amzn-Invoked-Production-Variant", "AllTraffic"),
            ("X-Amzn-SageMaker-Custom-Attributes", "echo=1"));
        using var client = new SageMakerRuntimeClient(AwsTestOptions.For(_server));
        var image = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10 };

        var answer = await client.InvokeEndpointAsync(new InvokeEndpointRequest
        {
            EndpointName = "d2-endpoint",
            Body = image,
            ContentType = "image/jpeg",
            Accept = "application/json",
            CustomAttributes = "trace-id=abc123;  score_threshold=0.5",
            InferenceId = "req-0001",
        });

        Assert.That(answer.ContentType, Is.EqualTo("application/json"));
        Assert.That(answer.InvokedProductionVariant, Is.EqualTo("AllTraffic"));
        Assert.That(answer.CustomAttributes, Is.EqualTo("echo=1"));
        Assert.That(System.Text.Encoding.UTF8.GetString(answer.Body), Is.EqualTo("""{"scores":[0.9]}"""));
        Assert.That(answer.RequestId, Is.EqualTo("req-1"));

        var request = _server.Requests.Single();
        Assert.That(request.PathAndQuery, Is.EqualTo("/endpoints/d2-endpoint/invocations"));
        Assert.That(request.Body, Is.EqualTo(image));
        Assert.That(request.Header("Content-Type"), Is.EqualTo("image/jpeg"));
        Assert.That(request.Header("Accept"), Is.EqualTo("application/json"));
        Assert.That(request.Header("X-Amzn-SageMaker-Custom-Attributes"), Is.EqualTo("trace-id=abc123;  score_threshold=0.5"), "sent verbatim");
        Assert.That(request.Header("X-Amzn-SageMaker-Inference-Id"), Is.EqualTo("req-0001"));
        Assert.That(request.Header("X-Amz-Target"), Is.Null);
        Assert.That(request.Header("Authorization"), Does.Contain(
            "/eu-west-1/sagemaker/aws4_request, SignedHeaders=accept;content-type;host;x-amz-date;x-amzn-sagemaker-custom-attributes;x-amzn-sagemaker-inference-id, "));
    }

    [Test]
    public async Task ModelErrorIsTypedAndNotRetried()
    {
        _server.Enqueue(424, """{"ErrorCode":"CLIENT_ERROR_FROM_MODEL","message":"Received client error (400)","OriginalStatusCode":400,"OriginalMessage":"bad image"}""",
            ("X-Amzn-ErrorType", "ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/"));
        using var client = new SageMakerRuntimeClient(AwsTestOptions.For(_server));

        var error = await Assert.ThrowsAsync<ModelErrorException>(() => client.InvokeEndpointAsync(new InvokeEndpointRequest { EndpointName = "d2-endpoint", Body = new byte[1] }));

        Assert.That(error!.OriginalMessage, Is.EqualTo("bad image"));
        Assert.That(_server.Requests, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task OversizedBodyIsRejectedBeforeSending()
    {
        using var client = new SageMakerRuntimeClient(AwsTestOptions.For(_server));

        var error = await Assert.ThrowsAsync<AwsRequestValidationException>(() =>
            client.InvokeEndpointAsync(new InvokeEndpointRequest { EndpointName = "d2-endpoint", Body = new byte[6 * 1024 * 1024 + 1] }));

        Assert.That(error!.Message, Does.Contain("at 'body' failed to satisfy constraint: Member must have length less than or equal to 6291456"));
        Assert.That(_server.Requests, Is.Empty);
    }

    [Test]
    public async Task BadEndpointNameIsRejectedBeforeSending()
    {
        using var client = new SageMakerRuntimeClient(AwsTestOptions.For(_server));

        var error = await Assert.ThrowsAsync<AwsRequestValidationException>(() =>
            client.InvokeEndpointAsync(new InvokeEndpointRequest { EndpointName = "d2 endpoint", Body = new byte[1] }));

        Assert.That(error!.Violations.Single().MemberPath, Is.EqualTo("endpointName"));
    }
}
