using System.Text;
using System.Text.Json.Nodes;
using D2.Operations.Steps;
using D2.Operations.Tests.Aws;

namespace D2.Operations.Tests.Steps;

/// <summary>ECR and STS operations against the scripted AWS server (the local SageMaker has no ECR).</summary>
public class RegistryOperationsTests
{
    private const string RepositoryJson = """
        {"repositoryArn":"arn:aws:ecr:eu-west-1:123456789012:repository/d2-trainer","registryId":"123456789012",
         "repositoryName":"d2-trainer","repositoryUri":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2-trainer"}
        """;

    private ScriptedAwsServer _server = null!;
    private OperationsContext _context = null!;

    [SetUp]
    public async Task Start()
    {
        _server = await ScriptedAwsServer.StartAsync();
        _context = new OperationsContext(AwsTestOptions.For(_server, maxAttempts: 1));
    }

    [TearDown]
    public async Task Stop()
    {
        _context.Dispose();
        await _server.DisposeAsync();
    }

    [Test]
    public async Task EnsureRepositoryReturnsAnExistingOne()
    {
        _server.Enqueue(200, $$"""{"repositories":[{{RepositoryJson}}]}""");

        var uri = await _context.Registry.EnsureRepositoryAsync("d2-trainer");

        Assert.That(uri, Is.EqualTo("123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2-trainer"));
        var request = _server.Requests.Single();
        Assert.That(request.Header("X-Amz-Target"), Is.EqualTo("AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"));
        Assert.That(JsonNode.Parse(request.Body)!.ToJsonString(), Is.EqualTo("""{"repositoryNames":["d2-trainer"]}"""));
    }

    [Test]
    public async Task EnsureRepositoryCreatesAMissingOne()
    {
        _server.Enqueue(400, """{"__type":"RepositoryNotFoundException","message":"The repository with name 'd2-trainer' does not exist in the registry with id '123456789012'"}""");
        _server.Enqueue(200, $$"""{"repository":{{RepositoryJson}}}""");

        var uri = await _context.Registry.EnsureRepositoryAsync("d2-trainer");

        Assert.That(uri, Is.EqualTo("123456789012.dkr.ecr.eu-west-1.amazonaws.com/d2-trainer"));
        var requests = _server.Requests.ToList();
        Assert.That(requests.Select(r => r.Header("X-Amz-Target")!.Split('.')[1]), Is.EqualTo(new[] { "DescribeRepositories", "CreateRepository" }));
        Assert.That(JsonNode.Parse(requests[1].Body)!.ToJsonString(), Is.EqualTo("""{"repositoryName":"d2-trainer"}"""));
    }

    [Test]
    public async Task RegistryCredentialsAreTheDecodedDockerLogin()
    {
        var token = Convert.ToBase64String(Encoding.UTF8.GetBytes("AWS:secret:with:colons"));
        _server.Enqueue(200, $$"""{"authorizationData":[{"authorizationToken":"{{token}}","expiresAt":1700043200,"proxyEndpoint":"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"}]}""");

        var login = await _context.Registry.GetRegistryCredentialsAsync();

        Assert.That(login.UserName, Is.EqualTo("AWS"));
        Assert.That(login.Password, Is.EqualTo("secret:with:colons"));
        Assert.That(login.Registry, Is.EqualTo("123456789012.dkr.ecr.eu-west-1.amazonaws.com"));
        Assert.That(login.ProxyEndpoint, Is.EqualTo("https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"));
        Assert.That(login.ExpiresAt, Is.EqualTo(DateTimeOffset.FromUnixTimeSeconds(1700043200)));
        Assert.That(login.ToString(), Does.Not.Contain("secret"));
    }

    [Test]
    public async Task DefaultRegistryComesFromTheCallerAccountAndRegion()
    {
        _server.Enqueue(200, """
            <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <GetCallerIdentityResult><Arn>arn:aws:sts::123456789012:assumed-role/ci/gh</Arn><UserId>AROA:gh</UserId><Account>123456789012</Account></GetCallerIdentityResult>
              <ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata>
            </GetCallerIdentityResponse>
            """, ("Content-Type", "text/xml"));

        Assert.That(await _context.Registry.DefaultRegistryAsync(), Is.EqualTo("123456789012.dkr.ecr.eu-west-1.amazonaws.com"));
        Assert.That(await _context.Registry.DefaultRegistryAsync(), Is.EqualTo("123456789012.dkr.ecr.eu-west-1.amazonaws.com"));
        Assert.That(_server.Requests, Has.Count.EqualTo(1), "the account is asked once");
    }
}
