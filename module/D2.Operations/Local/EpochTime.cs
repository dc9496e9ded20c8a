using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>AWS JSON timestamps: epoch seconds as a JSON number, with millisecond fractions.</summary>
internal static class EpochTime
{
    public static JsonNode Now() => From(DateTimeOffset.UtcNow);

    public static JsonNode From(DateTimeOffset time) => JsonValue.Create(time.ToUnixTimeMilliseconds() / 1000.0);

    public static DateTimeOffset? Read(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue(out double seconds)
            ? DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000))
            : null;
}
