using System.Text.Json;
using System.Text.Json.Nodes;
using D2.Operations.ServiceModels;

namespace D2.Operations.Aws;

/// <summary>JSON 1.1 calls (SageMaker, ECR): validate against the model, POST / with X-Amz-Target, parse the answer.</summary>
internal static class JsonProtocol
{
    public static async Task<TResponse> InvokeAsync<TRequest, TResponse>(
        AwsTransport transport,
        string operation,
        TRequest request,
        JsonSerializerOptions json,
        CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToNode(request, json) ?? new JsonObject();
        var answer = await InvokeAsync(transport, operation, body.AsObject(), cancellationToken).ConfigureAwait(false);
        return (answer.Body.Length == 0 ? default : JsonSerializer.Deserialize<TResponse>(answer.Body, json))
            ?? JsonSerializer.Deserialize<TResponse>("{}", json)!;
    }

    /// <summary>Untyped form: sends <paramref name="body"/> as is (after validation) and returns the raw answer.</summary>
    public static Task<AwsResponse> InvokeAsync(AwsTransport transport, string operation, JsonObject body, CancellationToken cancellationToken)
    {
        var model = transport.Model;
        // A local SageMaker reads file:// URIs where AWS wants s3://.
        var violations = AwsIdentity.IsLoopback(transport.Endpoint)
            ? FileUriStandIn.Validate(model, operation, body)
            : ShapeValidator.Validate(model, operation, body);
        if (violations.Count > 0)
        {
            throw new AwsRequestValidationException(model.Service, operation, violations);
        }

        var request = new AwsRequest(
            operation,
            HttpMethod.Post,
            "/",
            [
                new("X-Amz-Target", $"{model.Metadata.TargetPrefix}.{operation}"),
                new("Content-Type", $"application/x-amz-json-{model.Metadata.JsonVersion ?? "1.1"}"),
            ],
            JsonSerializer.SerializeToUtf8Bytes(body));
        return transport.SendAsync(request, cancellationToken);
    }
}
