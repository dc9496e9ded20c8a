using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;

namespace D2.Operations.Steps;

/// <summary>
/// Reads a profile file into its record with <see cref="JsonSerializer"/>: the records' own metadata say which fields
/// exist (camelCase, matched ignoring case), which are required and which are objects, so no field list is kept by hand.
/// Every error names the file and the field: a wrong value, a missing required field, a field given twice, and a field
/// that does not exist (a typo must not silently use a default). <c>null</c> means "not given", as an absent field.
/// </summary>
internal static class ProfileJson
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        Converters =
        {
            new ProfileValueConverters.StringConverter(), new ProfileValueConverters.IntConverter(), new ProfileValueConverters.BoolConverter(),
            new ProfileValueConverters.StringMapConverter(), new ProfileValueConverters.StringListConverter(), new ProfileValueConverters.EnumConverterFactory(),
        },
    };

    /// <summary>The record <typeparamref name="T"/> from a profile file's text.</summary>
    /// <param name="source">names the profile in errors (<c>training profile 'path'</c>)</param>
    /// <exception cref="InvalidProfileException">the JSON is malformed or a field is wrong (named, with the source)</exception>
    public static T Read<T>(string json, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
                AllowDuplicateProperties = false,
            });
        }
        catch (JsonException e)
        {
            throw new InvalidProfileException("", $"{source}: not valid JSON: {e.Message}");
        }

        if (root is not JsonObject obj)
        {
            throw new InvalidProfileException("", $"{source}: expected a JSON object.");
        }

        try
        {
            return Bind<T>(obj);
        }
        catch (ProfileFieldError e)
        {
            throw new InvalidProfileException(e.Field, e.Render(source));
        }
    }

    /// <summary>
    /// <typeparamref name="T"/> from an object of a profile; errors are <see cref="ProfileFieldError"/>s naming the field
    /// from this object down. Also the way a converter reads an object nested in a value (a file-system channel).
    /// </summary>
    internal static T Bind<T>(JsonObject obj)
    {
        var unknown = new List<ProfileFieldError>();
        Normalize(obj, Options.GetTypeInfo(typeof(T)), "", unknown);
        T value;
        try
        {
            value = obj.Deserialize<T>(Options)!;
        }
        catch (JsonException e)
        {
            var at = FieldOf(e.Path);
            throw e is ProfileFieldError error ? error.Under(at) : ProfileFieldError.Wrong(at, $"is not valid: {e.Message}");
        }

        // Reported once the values are known to be right, so a missing or mistyped field is named before a stray one.
        return unknown.Count > 0 ? throw unknown[0] : value;
    }

    /// <summary>
    /// Prepares one object for the serializer: refuses fields given twice and missing required ones, drops nulls, spells
    /// field names as the record does, collects unknown fields, and does the same for every field that is itself a record.
    /// </summary>
    private static void Normalize(JsonObject obj, JsonTypeInfo info, string at, List<ProfileFieldError> unknown)
    {
        // Properties without a setter are computed or ignored: not fields of the file.
        var fields = info.Properties.Where(p => p.Set is not null).ToList();
        var byName = fields.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in obj.ToList())
        {
            var field = ProfileFieldError.Join(at, name);
            if (!seen.Add(name))
            {
                throw ProfileFieldError.Twice(field);
            }

            obj.Remove(name);
            if (!byName.TryGetValue(name, out var property))
            {
                unknown.Add(ProfileFieldError.Unknown(at, name, string.Join(", ", fields.Select(p => p.Name))));
                continue;
            }

            if (value is null)
            {
                continue;
            }

            field = ProfileFieldError.Join(at, property.Name);
            var valueInfo = Options.GetTypeInfo(property.PropertyType);
            if (valueInfo.Kind == JsonTypeInfoKind.Object)
            {
                if (value is not JsonObject nested)
                {
                    throw ProfileFieldError.Wrong(field, $"must be an object, not {ProfileValueConverters.Describe(value)}.");
                }

                Normalize(nested, valueInfo, field, unknown);
            }

            obj[property.Name] = value;
        }

        foreach (var property in fields.Where(p => p.IsRequired))
        {
            var value = obj[property.Name];
            if (value is null || value is JsonValue text && text.GetValueKind() == JsonValueKind.String && string.IsNullOrWhiteSpace((string)text!))
            {
                throw ProfileFieldError.Wrong(ProfileFieldError.Join(at, property.Name), "is required (a non-empty string).");
            }
        }
    }

    /// <summary>The serializer's JSON path (<c>$.channels['a b'].directoryPath</c>, <c>$.vpcConfig.subnets[0]</c>) as a field name.</summary>
    private static string FieldOf(string? path)
    {
        var field = "";
        var rest = path is null ? "" : path.StartsWith('$') ? path[1..] : path;
        while (rest.Length > 0)
        {
            if (rest.StartsWith("['", StringComparison.Ordinal) && rest.IndexOf("']", 2, StringComparison.Ordinal) is var close and > 0)
            {
                field = ProfileFieldError.Join(field, rest[2..close]);
                rest = rest[(close + 2)..];
            }
            else if (rest[0] == '[' && rest.IndexOf(']', StringComparison.Ordinal) is var end and > 0)
            {
                field += rest[..(end + 1)];
                rest = rest[(end + 1)..];
            }
            else
            {
                var start = rest[0] == '.' ? 1 : 0;
                var stop = rest.IndexOfAny(['.', '['], start);
                var name = stop < 0 ? rest[start..] : rest[start..stop];
                field = ProfileFieldError.Join(field, name);
                rest = stop < 0 ? "" : rest[stop..];
            }
        }

        return field;
    }
}
