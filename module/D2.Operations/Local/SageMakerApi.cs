using System.Text.Json.Nodes;
using D2.Operations.ServiceModels;

namespace D2.Operations.Local;

/// <summary>
/// The JSON 1.1 operations: every body is validated against the operation's input shape first (AWS's
/// ValidationException wording), then handed to the resource it concerns.
/// </summary>
internal sealed class SageMakerApi
{

    private readonly LocalContext _context;
    private readonly Dictionary<string, Func<JsonObject, JsonObject>> _operations;

    public SageMakerApi(LocalContext context, TrainingJobsApi trainingJobs, ResourceTable models, ResourceTable configs, EndpointTable endpointTable, EndpointsApi endpoints)
    {
        _context = context;
        Models = models;
        Configs = configs;
        _operations = new(StringComparer.Ordinal)
        {
            ["CreateTrainingJob"] = trainingJobs.Create,
            ["DescribeTrainingJob"] = trainingJobs.Describe,
            ["StopTrainingJob"] = trainingJobs.Stop,
            ["ListTrainingJobs"] = trainingJobs.List,
            ["CreateModel"] = CreateModel,
            ["DescribeModel"] = r => models.Get((string)r["ModelName"]!),
            ["DeleteModel"] = r => Deleted(() => models.Delete((string)r["ModelName"]!)),
            ["CreateEndpointConfig"] = CreateEndpointConfig,
            ["DescribeEndpointConfig"] = r => configs.Get((string)r["EndpointConfigName"]!),
            ["DeleteEndpointConfig"] = r => Deleted(() => configs.Delete((string)r["EndpointConfigName"]!)),
            ["CreateEndpoint"] = endpoints.Create,
            ["UpdateEndpoint"] = endpoints.Update,
            ["DescribeEndpoint"] = endpoints.Describe,
            ["DeleteEndpoint"] = endpoints.Delete,
            ["ListEndpoints"] = endpoints.List,
            ["AddTags"] = r => AddTags(r, trainingJobs, endpointTable),
        };
    }

    private ResourceTable Models { get; }
    private ResourceTable Configs { get; }

    /// <summary>Runs <paramref name="operation"/> on a parsed body; errors are <see cref="LocalApiException"/>.</summary>
    public JsonObject Invoke(string operation, JsonNode? body)
    {
        if (!_operations.TryGetValue(operation, out var handler))
            throw new LocalApiException("UnknownOperationException", $"The local SageMaker does not implement SageMaker.{operation}.");
        if (body is not (null or JsonObject))
            throw new LocalApiException("SerializationException", "The request body must be a JSON object.");
        var request = body as JsonObject ?? [];
        var violations = FileUriStandIn.Validate(_context.Model, operation, request);
        if (violations.Count > 0)
            throw LocalApiException.Validation(ShapeValidator.FormatMessage(violations));
        return handler(request);
    }

    private JsonObject CreateModel(JsonObject request)
    {
        var name = (string)request["ModelName"]!;
        var containers = request["PrimaryContainer"] is JsonObject primary ? [primary] : (request["Containers"] as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
        if (containers.Count == 0)
            throw LocalApiException.Validation("Either PrimaryContainer or Containers must be specified.");
        if (containers.Count > 1)
            throw LocalApiException.Validation("The local SageMaker serves single-container models: use PrimaryContainer or one entry in Containers.");
        if ((string?)containers[0]["ModelDataUrl"] is { } url)
            FileUris.ToLocalPath(url, request["PrimaryContainer"] is null ? "containers.1.member.modelDataUrl" : "primaryContainer.modelDataUrl");
        var arn = _context.Arns.Model(name);
        var description = new JsonObject { ["ModelName"] = name };
        foreach (var (member, value) in _context.EchoedMembers("CreateModelInput", "DescribeModelOutput", request))
            description[member] = value!.DeepClone();
        description["CreationTime"] = EpochTime.Now();
        description["ModelArn"] = arn;
        description["EnableNetworkIsolation"] ??= false;
        Models.Add(name, description, request["Tags"]?.DeepClone() as JsonArray ?? []);
        return new JsonObject { ["ModelArn"] = arn };
    }

    private JsonObject CreateEndpointConfig(JsonObject request)
    {
        var name = (string)request["EndpointConfigName"]!;
        foreach (var variant in request["ProductionVariants"]!.AsArray().OfType<JsonObject>())
        {
            var modelName = (string?)variant["ModelName"]
                ?? throw LocalApiException.Validation($"ModelName is required for production variant {variant["VariantName"]} in the local SageMaker.");
            Models.Get(modelName);
        }
        var arn = _context.Arns.EndpointConfig(name);
        var description = new JsonObject { ["EndpointConfigName"] = name, ["EndpointConfigArn"] = arn };
        foreach (var (member, value) in _context.EchoedMembers("CreateEndpointConfigInput", "DescribeEndpointConfigOutput", request))
            description[member] = value!.DeepClone();
        description["CreationTime"] = EpochTime.Now();
        Configs.Add(name, description, request["Tags"]?.DeepClone() as JsonArray ?? []);
        return new JsonObject { ["EndpointConfigArn"] = arn };
    }

    private JsonObject AddTags(JsonObject request, TrainingJobsApi trainingJobs, EndpointTable endpoints)
    {
        var arn = (string)request["ResourceArn"]!;
        var tags = (JsonArray)request["Tags"]!;
        var job = trainingJobs.All.FirstOrDefault(j => string.Equals(_context.Arns.TrainingJob(j.Name), arn, StringComparison.OrdinalIgnoreCase));
        if (job is not null)
        {
            lock (job.Gate)
            {
                TagList.Merge(job.Tags, tags);
                job.Save();
            }
        }
        else if (!Models.TryAddTags(arn, tags) && !Configs.TryAddTags(arn, tags) && !endpoints.TryAddTags(arn, tags))
        {
            throw LocalApiException.NotFound($"Resource {arn} not found.");
        }
        return new JsonObject { ["Tags"] = tags.DeepClone() };
    }

    private static JsonObject Deleted(Action delete)
    {
        delete();
        return [];
    }
}
