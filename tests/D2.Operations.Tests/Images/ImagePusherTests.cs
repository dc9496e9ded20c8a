using System.Collections.Concurrent;
using System.Text;
using D2.Operations.Images;
using D2.Operations.Matrix;
using D2.Operations.Steps;
using D2.Operations.Tests.Aws;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace D2.Operations.Tests.Images;

/// <summary>
/// Push against scripted ECR (DescribeRepositories, GetAuthorizationToken) and a loopback registry that accepts only
/// the token's basic-auth credentials and records each pushed tag. The docker client is a script under the test's
/// control that talks to that registry the way docker does (GET /v2/ on login, PUT a manifest per tag).
/// </summary>
public class ImagePusherTests
{
    private const string Registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
    private const string Password = "ecr-token-password:with:colons";
    private const string Sha = "0123456789abcdef0123456789abcdef01234567";

    private ScriptedAwsServer _ecr = null!;
    private OperationsContext _context = null!;
    private WebApplication _registry = null!;
    private string _folder = null!;
    private readonly ConcurrentQueue<string> _pushed = new();
    private int _rejected;

    [SetUp]
    public async Task Start()
    {
        // NUnit reuses the fixture instance: every test starts with an empty record.
        _pushed.Clear();
        _rejected = 0;
        _ecr = await ScriptedAwsServer.StartAsync();
        _context = new OperationsContext(AwsTestOptions.For(_ecr, maxAttempts: 1));
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _registry = builder.Build();
        var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("AWS:" + Password));
        _registry.Run(async http =>
        {
            if (http.Request.Headers.Authorization.ToString() != expected)
            {
                Interlocked.Increment(ref _rejected);
                http.Response.StatusCode = 401;
                return;
            }
            if (http.Request.Method == "PUT" && http.Request.Path.Value is { } path && path.StartsWith("/v2/", StringComparison.Ordinal))
                _pushed.Enqueue(path);
            http.Response.StatusCode = http.Request.Method == "PUT" ? 201 : 200;
            await http.Response.WriteAsync("{}");
        });
        await _registry.StartAsync();
        var url = _registry.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _folder = Directory.CreateTempSubdirectory("d2-push-").FullName;
        // docker's behaviour, reduced: login checks the credentials against GET /v2/ and stores them; push sends the tag's manifest.
        File.WriteAllText(Path.Combine(_folder, "docker"), $$"""
            #!/usr/bin/env bash
            set -euo pipefail
            printf '%s\n' "$*" >> "{{_folder}}/argv.log"
            case "$1" in
              login)
                user="$3"; password="$(cat)"
                curl -sf -o /dev/null -u "$user:$password" "{{url}}/v2/" || { echo "login failed: unauthorized" >&2; exit 1; }
                printf '%s:%s' "$user" "$password" > "{{_folder}}/auth" ;;
              push)
                ref="${2#*/}"; repository="${ref%%:*}"; tag="${ref##*:}"
                auth="$(cat "{{_folder}}/auth" 2>/dev/null || true)"
                curl -sf -o /dev/null -X PUT -u "$auth" "{{url}}/v2/$repository/manifests/$tag" || { echo "push $2: denied" >&2; exit 1; }
                echo "$tag: digest: sha256:0 size: 1" ;;
              *) echo "unexpected: $*" >&2; exit 2 ;;
            esac
            """.Replace("\r", "", StringComparison.Ordinal));
        if (OperatingSystem.IsWindows())
            Assert.Ignore("The fake docker client is a bash script.");
        else
            File.SetUnixFileMode(Path.Combine(_folder, "docker"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [TearDown]
    public async Task Stop()
    {
        _context.Dispose();
        await _ecr.DisposeAsync();
        await _registry.StopAsync();
        await _registry.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    private void ScriptEcr(string password)
    {
        foreach (var repository in new[] { "d2-trainer", "d2-serving" })
            _ecr.Enqueue(200, $$"""{"repositories":[{"repositoryName":"{{repository}}","repositoryUri":"{{Registry}}/{{repository}}"}]}""");
        var token = Convert.ToBase64String(Encoding.UTF8.GetBytes("AWS:" + password));
        _ecr.Enqueue(200, $$"""{"authorizationData":[{"authorizationToken":"{{token}}","expiresAt":1700043200,"proxyEndpoint":"https://{{Registry}}"}]}""");
    }

    [Test]
    public async Task PushLogsInWithTheTokenOnStdinAndPushesEveryTag()
    {
        ScriptEcr(Password);
        var plan = ImagePlan.Create(GpuArchitectureMatrix.LoadDefault(), ["volta"], Registry, "1.2.3", Sha);
        var log = new StringWriter();

        var pushed = await new ImagePusher(Path.Combine(_folder, "docker"), log).PushToEcrAsync(_context.Registry, plan);

        Assert.That(pushed, Is.EqualTo(plan.Tags.ToList()).And.Count.EqualTo(4));
        Assert.That(_pushed, Is.EquivalentTo(new[]
        {
            "/v2/d2-trainer/manifests/1.2.3-volta", $"/v2/d2-trainer/manifests/{Sha}-volta",
            "/v2/d2-serving/manifests/1.2.3-volta", $"/v2/d2-serving/manifests/{Sha}-volta",
        }));
        Assert.That(_ecr.Requests.Select(r => r.Header("X-Amz-Target")!.Split('.')[1]),
            Is.EqualTo(new[] { "DescribeRepositories", "DescribeRepositories", "GetAuthorizationToken" }));
        var argv = File.ReadAllText(Path.Combine(_folder, "argv.log"));
        Assert.That(argv, Does.StartWith($"login --username AWS --password-stdin https://{Registry}\n"));
        Assert.That(argv, Does.Not.Contain(Password), "the token never reaches a command line");
        Assert.That(log.ToString(), Does.Not.Contain(Password).And.Contain($"pushed {Registry}/d2-serving:{Sha}-volta"));
        Assert.That(_rejected, Is.Zero);
    }

    [Test]
    public async Task AWrongTokenFailsTheLoginWithoutPrintingIt()
    {
        ScriptEcr("expired-token");
        var plan = ImagePlan.Create(GpuArchitectureMatrix.LoadDefault(), ["cpu"], Registry, "1.2.3", Sha);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new ImagePusher(Path.Combine(_folder, "docker"), TextWriter.Null).PushToEcrAsync(_context.Registry, plan));

        Assert.That(error!.Message, Does.StartWith("docker login failed (exit 1)").And.Contain("unauthorized").And.Not.Contain("expired-token"));
        Assert.That(_pushed, Is.Empty);
    }

    [Test]
    public async Task ImagesTaggedForAnotherRegistryAreRefusedBeforeAnyLogin()
    {
        ScriptEcr(Password);
        var plan = ImagePlan.Create(GpuArchitectureMatrix.LoadDefault(), ["cpu"], "localhost:5000", "1.2.3", Sha);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new ImagePusher(Path.Combine(_folder, "docker"), TextWriter.Null).PushToEcrAsync(_context.Registry, plan));

        Assert.That(error!.Message, Does.Contain($"ECR login ({Registry})").And.Contain("localhost:5000/d2-trainer:1.2.3-cpu").And.Contain($"--registry {Registry}"));
        Assert.That(File.Exists(Path.Combine(_folder, "argv.log")), Is.False);
    }

    [Test]
    public async Task AMissingDockerClientIsNamed()
    {
        var plan = ImagePlan.Create(GpuArchitectureMatrix.LoadDefault(), ["cpu"], "localhost:5000", "1.2.3", Sha);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => new ImagePusher(Path.Combine(_folder, "no-docker"), TextWriter.Null).PushTagsAsync(plan));
        Assert.That(error!.Message, Does.Contain("no-docker").And.Contain("--docker"));
    }
}
