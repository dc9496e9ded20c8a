using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace D2.Operations.Aws;

/// <summary>
/// Enums as AWS strings. AWS adds enum values over time, so reading an unknown value yields the enum's zero
/// member (by convention <c>Unknown</c>) instead of failing the whole response. Names come from
/// <see cref="JsonStringEnumMemberNameAttribute"/> when the wire value is not a valid C# name.
/// </summary>
public sealed class LenientEnumConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(LenientEnumConverter<>).MakeGenericType(typeToConvert))!;

    private sealed class LenientEnumConverter<T> : JsonConverter<T>
        where T : struct, Enum
    {
        private static readonly ConcurrentDictionary<string, T> ByWire = new(StringComparer.OrdinalIgnoreCase);
        private static readonly Dictionary<T, string> ToWire = Build();

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new JsonException($"Expected a string for {typeof(T).Name}, got {reader.TokenType}.");
            }

            return ByWire.TryGetValue(reader.GetString()!, out var value) ? value : default;
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WriteStringValue(ToWire.TryGetValue(value, out var wire) ? wire : value.ToString());

        private static Dictionary<T, string> Build()
        {
            var map = new Dictionary<T, string>();
            foreach (var field in typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                var value = (T)field.GetValue(null)!;
                var wire = field.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? field.Name;
                map[value] = wire;
                ByWire[wire] = value;
            }

            return map;
        }
    }
}
