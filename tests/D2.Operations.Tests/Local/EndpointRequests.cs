using System.Formats.Tar;
using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace D2.Operations.Tests.Local;

/// <summary>Models, endpoint configurations and invocations for the endpoint tests.</summary>
internal static class EndpointRequests
{
    /// <summary>A model.tar.gz with one weights file, as a training job would produce.</summary>
    public static string ModelTarGz(string root)
    {
        var folder = Path.Combine(root, "model-src");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "weights.bin"), "weights");
        var path = Path.Combine(root, "model.tar.gz");
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        TarFile.CreateFromDirectory(folder, gzip, includeBaseDirectory: false);
        return path;
    }

    public static JsonObject Model(string name, string modelTarGz, string stubName, bool failStart = false)
    {
        var environment = new JsonObject { ["STUB_NAME"] = stubName };
        if (failStart)
            environment["STUB_FAIL_START"] = "1";
        return new JsonObject
        {
            ["ModelName"] = name,
            ["ExecutionRoleArn"] = "arn:aws:iam::000000000000:role/SageMakerRole",
            ["PrimaryContainer"] = new JsonObject
            {
                ["Image"] = "000000000000.dkr.ecr.us-east-1.amazonaws.com/d2-serving:cpu",
                ["ModelDataUrl"] = new Uri(modelTarGz).AbsoluteUri,
                ["Environment"] = environment,
            },
        };
    }

    public static JsonObject Config(string name, string modelName) => new()
    {
        ["EndpointConfigName"] = name,
        ["ProductionVariants"] = new JsonArray(new JsonObject
        {
            ["VariantName"] = "AllTraffic",
            ["ModelName"] = modelName,
            ["InstanceType"] = "ml.m5.large",
            ["InitialInstanceCount"] = 1,
            ["InitialVariantWeight"] = 1.0,
        }),
    };

    public static async Task<HttpResponseMessage> InvokeAsync(Uri baseUrl, string endpoint, string body, string contentType = "text/plain",
        string? customAttributes = null)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUrl, $"endpoints/{endpoint}/invocations"))
        {
            Content = new StringContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=00");
        if (customAttributes is not null)
            request.Headers.TryAddWithoutValidation("X-Amzn-SageMaker-Custom-Attributes", customAttributes);
        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }
}
