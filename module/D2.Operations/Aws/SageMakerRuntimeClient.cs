using System.Text.Json.Nodes;
using D2.Operations.Aws.SageMakerRuntime;
using D2.Operations.ServiceModels;

namespace D2.Operations.Aws;

/// <summary>SageMaker Runtime over rest-json: InvokeEndpoint (POST /endpoints/{EndpointName}/invocations).</summary>
public sealed class SageMakerRuntimeClient(AwsClientOptions options) : IDisposable
{
    private const string Operation = "InvokeEndpoint";
    private readonly AwsTransport _transport = new("sagemaker-runtime", options);

    public AwsTransport Transport => _transport;

    public async Task<InvokeEndpointResponse> InvokeEndpointAsync(InvokeEndpointRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = _transport.Model;
        var op = model.GetOperation(Operation);
        var input = model.GetShape(op.InputShape!);

        // Model member → wire value; the validator checks the same members AWS does (the body as raw bytes).
        var values = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["EndpointName"] = request.EndpointName,
            ["ContentType"] = request.ContentType,
            ["Accept"] = request.Accept,
            ["CustomAttributes"] = request.CustomAttributes,
            ["TargetModel"] = request.TargetModel,
            ["TargetVariant"] = request.TargetVariant,
            ["TargetContainerHostname"] = request.TargetContainerHostname,
            ["InferenceId"] = request.InferenceId,
            ["EnableExplanations"] = request.EnableExplanations,
            ["InferenceComponentName"] = request.InferenceComponentName,
            ["SessionId"] = request.SessionId,
        };
        var body = request.Body.ToArray();
        var node = new JsonObject { ["Body"] = JsonValue.Create(body) };
        foreach (var (name, value) in values.Where(v => v.Value is not null))
        {
            node[name] = value;
        }

        var violations = ShapeValidator.Validate(model, Operation, node);
        if (violations.Count > 0)
        {
            throw new AwsRequestValidationException(model.Service, Operation, violations);
        }

        var path = op.RequestUri.Replace("{EndpointName}", SigV4Signer.UriEncode(request.EndpointName, keepSlash: false), StringComparison.Ordinal);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, member) in input.Members)
        {
            if (member.Location == "header" && values.TryGetValue(name, out var value) && value is not null)
            {
                headers.Add(new(member.LocationName!, value));
            }
        }

        var answer = await _transport.SendAsync(new AwsRequest(Operation, HttpMethod.Post, path, headers, body), cancellationToken)
            .ConfigureAwait(false);

        var output = model.GetShape(op.OutputShape!);
        string? Header(string member) => answer.Header(output.Members[member].LocationName!);
        return new InvokeEndpointResponse
        {
            Body = answer.Body,
            ContentType = Header("ContentType"),
            InvokedProductionVariant = Header("InvokedProductionVariant"),
            CustomAttributes = Header("CustomAttributes"),
            NewSessionId = Header("NewSessionId"),
            ClosedSessionId = Header("ClosedSessionId"),
            RequestId = answer.RequestId,
        };
    }

    public void Dispose() => _transport.Dispose();
}
