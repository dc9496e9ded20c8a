using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using D2.Operations.Local;

namespace D2.Operations.Tests.Local;

/// <summary>
/// A local SageMaker on a temporary root with the fake trainer and the serving stub as its commands, and a raw
/// JSON 1.1 client (POST /, X-Amz-Target, a SigV4-looking Authorization the server must accept unverified).
/// </summary>
internal sealed class LocalHarness : IAsyncDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(90) };
    private readonly bool _ownsRoot;

    private LocalHarness(LocalSageMakerServer server, string root, bool ownsRoot)
    {
        Server = server;
        Root = root;
        _ownsRoot = ownsRoot;
    }

    public LocalSageMakerServer Server { get; private set; }
    public string Root { get; }
    public Uri BaseUrl => Server.BaseUrl;

    public static async Task<LocalHarness> StartAsync(string? root = null, Action<LocalSageMakerOptions>? configure = null)
    {
        var ownsRoot = root is null;
        root ??= NewTempFolder("d2-local-sm");
        var server = await LocalSageMakerServer.StartAsync(Options(root, configure));
        return new LocalHarness(server, root, ownsRoot);
    }

    public static LocalSageMakerOptions Options(string root, Action<LocalSageMakerOptions>? configure = null)
    {
        var options = new LocalSageMakerOptions
        {
            Root = root,
            TrainingCommand = FakeTrainer.Command,
            ServingCommand = ServingStub.Command,
            TrainingStopGracePeriod = TimeSpan.FromSeconds(2),
            ServingStopGracePeriod = TimeSpan.FromSeconds(5),
            ServingStartupTimeout = TimeSpan.FromSeconds(30),
            CheckpointSyncInterval = TimeSpan.FromMilliseconds(200),
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Stops this server and starts a new one on the same root (state must come back from disk).</summary>
    public async Task RestartAsync(Action<LocalSageMakerOptions>? configure = null)
    {
        await Server.DisposeAsync();
        Server = await LocalSageMakerServer.StartAsync(Options(Root, configure));
    }

    public static string NewTempFolder(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(path);
        return path;
    }

    public async Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> CallAsync(string operation, JsonObject request)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, BaseUrl)
        {
            Content = new StringContent(request.ToJsonString(), Encoding.UTF8),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        message.Headers.TryAddWithoutValidation("X-Amz-Target", "SageMaker." + operation);
        message.Headers.TryAddWithoutValidation("X-Amz-Date", DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture));
        message.Headers.TryAddWithoutValidation("Authorization",
            "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/sagemaker/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00");
        var response = await _http.SendAsync(message);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, (JsonObject)JsonNode.Parse(text)!, response);
    }

    public async Task<JsonObject> OkAsync(string operation, JsonObject request)
    {
        var (status, body, response) = await CallAsync(operation, request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), $"{operation}: {body.ToJsonString()}");
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/x-amz-json-1.1"));
        Assert.That(response.Headers.Contains("x-amzn-RequestId"), Is.True);
        return body;
    }

    /// <summary>Calls an operation that must fail with HTTP 400; returns AWS's (__type, message).</summary>
    public async Task<(string Type, string Message)> ErrorAsync(string operation, JsonObject request)
    {
        var (status, body, response) = await CallAsync(operation, request);
        Assert.That(status, Is.EqualTo(HttpStatusCode.BadRequest), $"{operation}: {body.ToJsonString()}");
        Assert.That(response.Headers.Contains("x-amzn-RequestId"), Is.True);
        return ((string)body["__type"]!, (string)body["message"]!);
    }

    /// <summary>Polls DescribeTrainingJob until TrainingJobStatus is one of <paramref name="statuses"/>.</summary>
    public Task<JsonObject> WaitForJobAsync(string name, params string[] statuses) =>
        WaitAsync("DescribeTrainingJob", new JsonObject { ["TrainingJobName"] = name }, "TrainingJobStatus", statuses);

    public Task<JsonObject> WaitForEndpointAsync(string name, params string[] statuses) =>
        WaitAsync("DescribeEndpoint", new JsonObject { ["EndpointName"] = name }, "EndpointStatus", statuses);

    private async Task<JsonObject> WaitAsync(string operation, JsonObject request, string member, string[] statuses)
    {
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (true)
        {
            var description = await OkAsync(operation, (JsonObject)request.DeepClone());
            if (statuses.Contains((string?)description[member]))
                return description;
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"{operation} still {description[member]} (want {string.Join("/", statuses)}): {description.ToJsonString()}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _http.Dispose();
        if (_ownsRoot)
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
