using System.Text.Json;
using System.Text.Json.Nodes;

namespace D2.Operations.ServiceModels;

/// <summary>
/// Validation with <c>file://</c> URIs accepted where the model wants an S3 URI: the local SageMaker stands in for S3
/// with local folders, and the model's patterns admit only s3:// and https://. Each file:// string is checked as an
/// s3:// URI of the same length, so every other constraint (lengths, required members, enums) still applies; the
/// violations report the original value. Used by the local SageMaker and by the client when it talks to one.
/// </summary>
public static class FileUriStandIn
{
    private const string FileScheme = "file://";
    private const string StandIn = "s3://f/"; // as long as "file://"

    public static IReadOnlyList<ShapeViolation> Validate(ServiceModel model, string operationName, JsonNode? input)
    {
        var violations = ShapeValidator.Validate(model, operationName, input is null ? null : Substitute(input));
        return [.. violations.Select(v => v.Value is { } value && value.StartsWith(StandIn, StringComparison.Ordinal)
            ? v with { Value = FileScheme + value[StandIn.Length..] } : v)];
    }

    private static JsonNode Substitute(JsonNode node) => node switch
    {
        JsonObject obj => new JsonObject(obj.Select(kv => KeyValuePair.Create(kv.Key, kv.Value is null ? null : Substitute(kv.Value)))),
        JsonArray array => new JsonArray([.. array.Select(e => e is null ? null : Substitute(e))]),
        JsonValue value when value.GetValueKind() == JsonValueKind.String && ((string?)value)?.StartsWith(FileScheme, StringComparison.OrdinalIgnoreCase) == true
            => JsonValue.Create(StandIn + ((string)value!)[FileScheme.Length..]),
        _ => node.DeepClone(),
    };
}
