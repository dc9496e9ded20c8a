// Honours the hosting contract the way a real serving image must: listens on SAGEMAKER_BIND_TO_PORT, GET /ping is
// 200, POST /invocations answers {"length", "contentType", "accept", "model"} (model = the files in
// SAGEMAKER_BASE_DIR/model) and a 500 with a message when the body is "fail". STUB_FAIL_START=1 exits at once
// (a container that never becomes healthy). STUB_ANSWER=detections answers an inference response of the architecture's
// shape (one box) instead, so a deployment's smoke test passes against it.
using System.Text.Json;

if (Environment.GetEnvironmentVariable("STUB_FAIL_START") == "1")
{
    Console.Error.WriteLine("stub: refusing to start (STUB_FAIL_START=1)");
    return 3;
}

var port = Environment.GetEnvironmentVariable("SAGEMAKER_BIND_TO_PORT") ?? "8080";
var baseDir = Environment.GetEnvironmentVariable("SAGEMAKER_BASE_DIR") ?? "/opt/ml";
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
var app = builder.Build();
var modelDir = Path.Combine(baseDir, "model");
var modelFiles = Directory.Exists(modelDir)
    ? Directory.GetFiles(modelDir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(modelDir, f)).Order(StringComparer.Ordinal).ToArray()
    : [];

app.MapGet("/ping", () => Results.Ok());
app.MapPost("/invocations", async (HttpRequest request) =>
{
    using var reader = new StreamReader(request.Body);
    var body = await reader.ReadToEndAsync();
    if (body == "fail")
        return Results.Text("stub failure as requested", "text/plain", statusCode: 500);
    if (Environment.GetEnvironmentVariable("STUB_ANSWER") == "detections")
        return Results.Text("""{"pred_boxes":[[4.0,6.0,40.0,30.0]],"scores":[0.9],"pred_classes":[0],"image_size":[64,96]}""", "application/json");
    if (request.Headers.TryGetValue("X-Amzn-SageMaker-Custom-Attributes", out var attributes))
        request.HttpContext.Response.Headers["X-Amzn-SageMaker-Custom-Attributes"] = "echo:" + attributes;
    var answer = JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["length"] = body.Length,
        ["contentType"] = request.ContentType,
        ["accept"] = request.Headers.Accept.ToString(),
        ["model"] = modelFiles,
        ["variantEnv"] = Environment.GetEnvironmentVariable("STUB_NAME"),
    });
    return Results.Text(answer, "application/json");
});
Console.WriteLine($"stub: serving on {port} with model files [{string.Join(", ", modelFiles)}]");
app.Run();
return 0;
