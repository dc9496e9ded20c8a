using System.Text;
using System.Text.Json.Nodes;
using D2.Operations.Aws;
using D2.Operations.Aws.Ecr;
using D2.Operations.ServiceModels;

namespace D2.Operations.Tests.Aws;

public class StsAndEcrClientTests
{
    private ScriptedAwsServer _server = null!;

    [SetUp]
    public async Task StartServer() => _server = await ScriptedAwsServer.StartAsync();

    [TearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task GetCallerIdentityPostsQueryAndParsesXml()
    {
        _server.Enqueue(200, """
            <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <GetCallerIdentityResult>
                <Arn>arn:aws:sts::123456789012:assumed-role/ci/gh-1</Arn>
                <UserId>AROAEXAMPLE:gh-1</UserId>
                <Account>123456789012</Account>
              </GetCallerIdentityResult>
              <ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata>
            </GetCallerIdentityResponse>
            """, ("Content-Type", "text/xml"));
        using var client = new StsClient(AwsTestOptions.For(_server));

        var identity = await client.GetCallerIdentityAsync();

        Assert.That(identity.Account, Is.EqualTo("123456789012"));
        Assert.That(identity.Arn, Is.EqualTo("arn:aws:sts::123456789012:assumed-role/ci/gh-1"));
        Assert.That(identity.UserId, Is.EqualTo("AROAEXAMPLE:gh-1"));
        Assert.That(identity.RequestId, Is.EqualTo("01234567-89ab"));
        var request = _server.Requests.Single();
        Assert.That(request.BodyText, Is.EqualTo("Action=GetCallerIdentity&Version=2011-06-15"));
        Assert.That(request.Header("Content-Type"), Is.EqualTo("application/x-www-form-urlencoded; charset=utf-8"));
        Assert.That(request.Header("Authorization"), Does.Contain("/eu-west-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date, "));
    }

    [Test]
    public async Task StsErrorIsTyped()
    {
        _server.Enqueue(403, """<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>expired</Message></Error><RequestId>r1</RequestId></ErrorResponse>""");
        using var client = new StsClient(AwsTestOptions.For(_server));

        var error = await Assert.ThrowsAsync<AwsAuthenticationException>(() => client.GetCallerIdentityAsync());

        Assert.That(error!.ErrorCode, Is.EqualTo("ExpiredToken"));
        Assert.That(error.RequestId, Is.EqualTo("r1"));
    }

    [Test]
    public async Task EcrUsesCamelCaseMembersAndPascalCaseTags()
    {
        _server.Enqueue(200, """
            {"repository":{"repositoryArn":"arn:aws:ecr:eu-west-1:123456789012:repository/d2/trainer","registryId":"123456789012",
             "repositoryName":"d2/trainer","repositoryUri":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2/trainer",
             "createdAt":1700000000,"imageTagMutability":"IMMUTABLE","imageScanningConfiguration":{"scanOnPush":true}}}
            """);
        using var client = new EcrClient(AwsTestOptions.For(_server));

        var answer = await client.CreateRepositoryAsync(new CreateRepositoryRequest
        {
            RepositoryName = "d2/trainer",
            ImageTagMutability = ImageTagMutability.Immutable,
            ImageScanningConfiguration = new ImageScanningConfiguration(true),
            Tags = [new Tag("project", "d2")],
        });

        Assert.That(answer.Repository!.RepositoryUri, Is.EqualTo("123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2/trainer"));
        Assert.That(answer.Repository.ImageTagMutability, Is.EqualTo(ImageTagMutability.Immutable));
        var request = _server.Requests.Single();
        Assert.That(request.Header("X-Amz-Target"), Is.EqualTo("AmazonEC2ContainerRegistry_V20150921.CreateRepository"));
        Assert.That(JsonNode.Parse(request.Body)!.ToJsonString(), Is.EqualTo(
            """{"repositoryName":"d2/trainer","imageTagMutability":"IMMUTABLE","imageScanningConfiguration":{"scanOnPush":true},"tags":[{"Key":"project","Value":"d2"}]}"""));
        Assert.That(ShapeValidator.Validate(ServiceModel.Get("ecr"), "CreateRepository", JsonNode.Parse(request.Body)), Is.Empty);
    }

    [Test]
    public async Task GetAuthorizationTokenDecodesDockerLogin()
    {
        var token = Convert.ToBase64String(Encoding.UTF8.GetBytes("AWS:pass:with:colons"));
        _server.Enqueue(200, $$"""{"authorizationData":[{"authorizationToken":"{{token}}","expiresAt":1700043200.5,"proxyEndpoint":"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"}]}""");
        using var client = new EcrClient(AwsTestOptions.For(_server));

        var answer = await client.GetAuthorizationTokenAsync();

        var data = answer.AuthorizationData.Single();
        Assert.That(data.DecodeCredentials(), Is.EqualTo(("AWS", "pass:with:colons")));
        Assert.That(data.ExpiresAt, Is.EqualTo(DateTimeOffset.FromUnixTimeMilliseconds(1700043200500)));
        Assert.That(_server.Requests.Single().BodyText, Is.EqualTo("{}"));
    }

    [Test]
    public async Task DescribeImagesAndRepositoryNotFound()
    {
        _server.Enqueue(200, """{"imageDetails":[{"imageDigest":"sha256:abc","imageTags":["ampere"],"imageSizeInBytes":123456789,"imagePushedAt":1700000000}]}""");
        _server.Enqueue(400, """{"__type":"RepositoryNotFoundException","message":"The repository with name 'nope' does not exist"}""");
        using var client = new EcrClient(AwsTestOptions.For(_server));

        var images = await client.DescribeImagesAsync(new DescribeImagesRequest { RepositoryName = "d2/trainer", ImageIds = [new ImageIdentifier { ImageTag = "ampere" }] });
        Assert.That(images.ImageDetails.Single().ImageSizeInBytes, Is.EqualTo(123456789L));

        var error = await Assert.ThrowsAsync<RepositoryNotFoundException>(() => client.DescribeRepositoriesAsync(new DescribeRepositoriesRequest { RepositoryNames = ["nope"] }));
        Assert.That(error!.ErrorMessage, Does.Contain("nope"));
    }
}
