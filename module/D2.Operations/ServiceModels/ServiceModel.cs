using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace D2.Operations.ServiceModels;

/// <summary>
/// A botocore service model embedded in this assembly (metadata, operations, shapes). Loaded once per service and
/// shared: models are immutable.
/// </summary>
public sealed class ServiceModel
{
    /// <summary>Services whose models are embedded.</summary>
    public static IReadOnlyList<string> Services { get; } = ["sagemaker", "sagemaker-runtime", "ecr", "sts"];

    private static readonly ConcurrentDictionary<string, Lazy<ServiceModel>> Cache = new(StringComparer.Ordinal);

    private ServiceModel(
        string service,
        ServiceMetadata metadata,
        IReadOnlyDictionary<string, OperationModel> operations,
        IReadOnlyDictionary<string, Shape> shapes)
    {
        Service = service;
        Metadata = metadata;
        Operations = operations;
        Shapes = shapes;
    }

    /// <summary>Service key as passed to <see cref="Get"/> (<c>sagemaker</c>, <c>ecr</c>, ...).</summary>
    public string Service { get; }

    public ServiceMetadata Metadata { get; }

    public IReadOnlyDictionary<string, OperationModel> Operations { get; }

    public IReadOnlyDictionary<string, Shape> Shapes { get; }

    /// <summary>Returns the cached model of <paramref name="service"/>.</summary>
    /// <exception cref="ArgumentException">No model is embedded for that service.</exception>
    public static ServiceModel Get(string service)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (!Services.Contains(service, StringComparer.Ordinal))
        {
            throw new ArgumentException(
                $"No service model is embedded for '{service}'; known: {string.Join(", ", Services)}.", nameof(service));
        }

        return Cache.GetOrAdd(service, s => new Lazy<ServiceModel>(() => Load(s))).Value;
    }

    /// <summary>Returns the operation named <paramref name="operationName"/>.</summary>
    /// <exception cref="KeyNotFoundException">The model has no such operation.</exception>
    public OperationModel GetOperation(string operationName) =>
        Operations.TryGetValue(operationName, out var op)
            ? op
            : throw new KeyNotFoundException($"Service model '{Service}' has no operation '{operationName}'.");

    /// <summary>Returns the shape named <paramref name="shapeName"/>.</summary>
    /// <exception cref="KeyNotFoundException">The model has no such shape.</exception>
    public Shape GetShape(string shapeName) =>
        Shapes.TryGetValue(shapeName, out var shape)
            ? shape
            : throw new KeyNotFoundException($"Service model '{Service}' has no shape '{shapeName}'.");

    /// <summary>Reads an embedded JSON resource that sits beside the models (paginators, waiters, retry.json).</summary>
    /// <returns>The parsed document, or null when no such resource is embedded.</returns>
    public static JsonNode? LoadResource(string fileName)
    {
        var assembly = typeof(ServiceModel).Assembly;
        using var stream = assembly.GetManifestResourceStream("D2.Operations.ServiceModels." + fileName);
        return stream is null ? null : JsonNode.Parse(stream);
    }

    private static ServiceModel Load(string service)
    {
        var root = LoadResource(service + ".json")?.AsObject()
            ?? throw new InvalidOperationException($"Embedded resource D2.Operations.ServiceModels.{service}.json is missing.");

        var meta = root["metadata"]!.AsObject();
        var endpointPrefix = (string)meta["endpointPrefix"]!;
        var metadata = new ServiceMetadata(
            ApiVersion: (string)meta["apiVersion"]!,
            Protocol: (string)meta["protocol"]!,
            EndpointPrefix: endpointPrefix,
            SigningName: (string?)meta["signingName"] ?? endpointPrefix,
            TargetPrefix: (string?)meta["targetPrefix"],
            JsonVersion: (string?)meta["jsonVersion"],
            ServiceId: (string?)meta["serviceId"] ?? service,
            XmlNamespace: (string?)meta["xmlNamespace"],
            GlobalEndpoint: (string?)meta["globalEndpoint"]);

        var operations = new Dictionary<string, OperationModel>(StringComparer.Ordinal);
        foreach (var (name, node) in root["operations"]!.AsObject())
        {
            var op = node!.AsObject();
            var http = op["http"]?.AsObject();
            operations[name] = new OperationModel(
                name,
                (string?)http?["method"] ?? "POST",
                (string?)http?["requestUri"] ?? "/",
                (string?)op["input"]?["shape"],
                (string?)op["output"]?["shape"],
                op["errors"]?.AsArray().Select(e => (string)e!["shape"]!).ToArray() ?? []);
        }

        var shapes = new Dictionary<string, Shape>(StringComparer.Ordinal);
        foreach (var (name, node) in root["shapes"]!.AsObject())
        {
            shapes[name] = ParseShape(name, node!.AsObject());
        }

        return new ServiceModel(service, metadata, operations, shapes);
    }

    private static Shape ParseShape(string name, JsonObject s)
    {
        var type = (string)s["type"]! switch
        {
            "structure" => ShapeType.Structure,
            "list" => ShapeType.List,
            "map" => ShapeType.Map,
            "string" => ShapeType.String,
            "integer" => ShapeType.Integer,
            "long" => ShapeType.Long,
            "boolean" => ShapeType.Boolean,
            "float" => ShapeType.Float,
            "double" => ShapeType.Double,
            "timestamp" => ShapeType.Timestamp,
            "blob" => ShapeType.Blob,
            var other => throw new InvalidOperationException($"Shape '{name}' has unsupported type '{other}'."),
        };

        var members = new Dictionary<string, MemberModel>(StringComparer.Ordinal);
        if (s["members"] is JsonObject memberNodes)
        {
            foreach (var (memberName, memberNode) in memberNodes)
            {
                var m = memberNode!.AsObject();
                members[memberName] = new MemberModel(
                    memberName,
                    (string)m["shape"]!,
                    (string?)m["location"],
                    (string?)m["locationName"],
                    (bool?)m["deprecated"] ?? false);
            }
        }

        return new Shape(name, type)
        {
            Members = members,
            Required = s["required"]?.AsArray().Select(r => (string)r!).ToArray() ?? [],
            MemberShape = (string?)s["member"]?["shape"],
            KeyShape = (string?)s["key"]?["shape"],
            ValueShape = (string?)s["value"]?["shape"],
            Min = (double?)s["min"],
            Max = (double?)s["max"],
            Pattern = (string?)s["pattern"],
            Enum = s["enum"]?.AsArray().Select(e => (string)e!).ToArray(),
            IsException = (bool?)s["exception"] ?? false,
            IsFault = (bool?)s["fault"] ?? false,
            ErrorStatusCode = (int?)s["error"]?["httpStatusCode"],
            Payload = (string?)s["payload"],
            Sensitive = (bool?)s["sensitive"] ?? false,
        };
    }
}
