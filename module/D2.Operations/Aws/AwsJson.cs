using System.Text.Json;
using System.Text.Json.Serialization;

namespace D2.Operations.Aws;

/// <summary>
/// JSON settings of the AWS JSON protocols: member names as in the model (SageMaker PascalCase = the C# names,
/// ECR camelCase), unset members omitted, timestamps as epoch seconds, enums as strings read leniently.
/// </summary>
public static class AwsJson
{
    /// <summary>SageMaker / SageMaker Runtime (PascalCase members).</summary>
    public static JsonSerializerOptions PascalCase { get; } = Create(null);

    /// <summary>ECR (camelCase members).</summary>
    public static JsonSerializerOptions CamelCase { get; } = Create(JsonNamingPolicy.CamelCase);

    private static JsonSerializerOptions Create(JsonNamingPolicy? naming)
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = naming,
            DictionaryKeyPolicy = null, // map keys (hyperparameters, tags, environment) are data, never renamed
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            NumberHandling = JsonNumberHandling.Strict,
        };
        options.Converters.Add(new EpochSecondsConverter());
        options.Converters.Add(new LenientEnumConverterFactory());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
