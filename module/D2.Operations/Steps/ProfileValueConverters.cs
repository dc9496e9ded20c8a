using System.Buffers;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace D2.Operations.Steps;

/// <summary>
/// The value types of profile fields, read strictly (a number is not a string, "2" is not a number) with an error that
/// says what was expected and what was found. Maps of strings take numbers and booleans as their text: SageMaker's
/// hyperparameters, environment and tags are strings, and <c>"seed": 42</c> is what an operator writes.
/// </summary>
internal static class ProfileValueConverters
{
    public static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => $"the string \"{(string)v!}\"",
        _ => node.ToJsonString(),
    };

    public static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => $"the string \"{reader.GetString()}\"",
        _ => Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan),
    };

    private static ProfileFieldError Expected(string what, ref Utf8JsonReader reader, string field = "") =>
        ProfileFieldError.Wrong(field, $"must be {what}, not {Describe(ref reader)}.");

    public sealed class StringConverter : JsonConverter<string>
    {
        public override string Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw Expected("a string", ref reader);

        public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);

        public override string ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetString()!;

        public override void WriteAsPropertyName(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WritePropertyName(value);
    }

    public sealed class IntConverter : JsonConverter<int>
    {
        public override int Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var number) ? number : throw Expected("a whole number", ref reader);

        public override void Write(Utf8JsonWriter writer, int value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
    }

    public sealed class BoolConverter : JsonConverter<bool>
    {
        public override bool Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType is JsonTokenType.True or JsonTokenType.False ? reader.GetBoolean() : throw Expected("true or false", ref reader);

        public override void Write(Utf8JsonWriter writer, bool value, JsonSerializerOptions options) => writer.WriteBooleanValue(value);
    }

    public sealed class StringMapConverter : JsonConverter<IReadOnlyDictionary<string, string>>
    {
        public override IReadOnlyDictionary<string, string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Expected("an object of string values", ref reader);
            }

            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = reader.GetString()!;
                reader.Read();
                map[key] = reader.TokenType switch
                {
                    JsonTokenType.String => reader.GetString()!,
                    JsonTokenType.Number => reader.TryGetDecimal(out var number) ? number.ToString(CultureInfo.InvariantCulture) : Describe(ref reader),
                    JsonTokenType.True => "true",
                    JsonTokenType.False => "false",
                    _ => throw Expected("a string", ref reader, key),
                };
            }

            return map;
        }

        public override void Write(Utf8JsonWriter writer, IReadOnlyDictionary<string, string> value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            foreach (var (key, text) in value)
            {
                writer.WriteString(key, text);
            }

            writer.WriteEndObject();
        }
    }

    public sealed class StringListConverter : JsonConverter<IReadOnlyList<string>>
    {
        public override IReadOnlyList<string> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                throw Expected("a list of strings", ref reader);
            }

            var list = new List<string>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                list.Add(reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw Expected("a string", ref reader, $"[{list.Count}]"));
            }

            return list;
        }

        public override void Write(Utf8JsonWriter writer, IReadOnlyList<string> value, JsonSerializerOptions options)
        {
            writer.WriteStartArray();
            foreach (var item in value)
            {
                writer.WriteStringValue(item);
            }

            writer.WriteEndArray();
        }
    }

    /// <summary>SageMaker's enums by their exact wire value (<see cref="JsonStringEnumMemberNameAttribute"/> or the member name);
    /// the <c>Unknown</c> member the client reads for values added later is not one a profile may give.</summary>
    public sealed class EnumConverterFactory : JsonConverterFactory
    {
        public override bool CanConvert(Type typeToConvert) => typeToConvert.IsEnum;

        public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
            (JsonConverter)Activator.CreateInstance(typeof(EnumConverter<>).MakeGenericType(typeToConvert))!;
    }

    /// <summary>The wire values a profile may give for <typeparamref name="T"/>, in declaration order.</summary>
    public static IReadOnlyList<(string Wire, T Value)> WireValues<T>()
        where T : struct, Enum =>
        [.. typeof(T).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.Name != "Unknown")
            .Select(f => (f.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? f.Name, (T)f.GetValue(null)!))];

    private sealed class EnumConverter<T> : JsonConverter<T>
        where T : struct, Enum
    {
        private static readonly IReadOnlyList<(string Wire, T Value)> Values = WireValues<T>();

        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            foreach (var (wire, value) in Values)
            {
                if (wire == text)
                {
                    return value;
                }
            }

            var got = text is null ? Describe(ref reader) : $"'{text}'";
            throw ProfileFieldError.Wrong("", $"must be one of {string.Join(", ", Values.Select(v => v.Wire))} (got {got}).");
        }

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Values.FirstOrDefault(v => v.Value.Equals(value)).Wire ?? value.ToString());
    }
}
