using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace D2.Operations.Operations;

/// <summary>
/// Reads the fields of a profile file (a JSON object; field names case-insensitive) with an error that names the file
/// and the field for every wrong value, and for fields that do not exist (a typo must not silently use a default).
/// </summary>
internal sealed class ProfileReader
{
    private readonly Dictionary<string, JsonNode?> _fields = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _read = new(StringComparer.OrdinalIgnoreCase);

    private readonly string _prefix;

    private ProfileReader(string source, string prefix = "")
    {
        Source = source;
        _prefix = prefix;
    }

    public string Source { get; }

    /// <summary>A reader of an object inside the profile; its errors name the field by its full path (<c>channels.training.directoryPath</c>).</summary>
    public static ProfileReader Nested(JsonObject obj, string source, string path)
    {
        var reader = new ProfileReader(source, path + ".");
        foreach (var (name, value) in obj)
        {
            if (!reader._fields.TryAdd(name, value))
            {
                throw new InvalidProfileException(path + "." + name, $"{source}: field '{path}.{name}' is given twice (field names ignore case).");
            }
        }

        return reader;
    }

    public static ProfileReader Parse(string json, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new InvalidProfileException("", $"{source}: not valid JSON: {e.Message}");
        }

        if (root is not JsonObject obj)
        {
            throw new InvalidProfileException("", $"{source}: expected a JSON object.");
        }

        var reader = new ProfileReader(source);
        foreach (var (name, value) in obj)
        {
            if (!reader._fields.TryAdd(name, value))
            {
                throw new InvalidProfileException(name, $"{source}: field '{name}' is given twice (field names ignore case).");
            }
        }

        return reader;
    }

    public string? String(string field)
    {
        var node = Take(field);
        return node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.String => (string)v!,
            _ => throw Error(field, $"must be a string, not {Describe(node)}."),
        };
    }

    public string RequiredString(string field) =>
        String(field) is { Length: > 0 } text && !string.IsNullOrWhiteSpace(text) ? text : throw Error(field, "is required (a non-empty string).");

    public int? Int(string field)
    {
        var node = Take(field);
        return node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var number) => number,
            _ => throw Error(field, $"must be a whole number, not {Describe(node)}."),
        };
    }

    public bool? Bool(string field)
    {
        var node = Take(field);
        return node switch
        {
            null => null,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            _ => throw Error(field, $"must be true or false, not {Describe(node)}."),
        };
    }

    /// <summary>An object field's members as they are (null when the field is absent).</summary>
    public JsonObject? Object(string field)
    {
        var node = Take(field);
        return node switch
        {
            null => null,
            JsonObject obj => obj,
            _ => throw Error(field, $"must be an object, not {Describe(node)}."),
        };
    }

    /// <summary>A list of strings (null when the field is absent).</summary>
    public IReadOnlyList<string>? StringList(string field)
    {
        var node = Take(field);
        if (node is null)
        {
            return null;
        }

        if (node is not JsonArray array)
        {
            throw Error(field, $"must be a list of strings, not {Describe(node)}.");
        }

        return [.. array.Select((item, i) => item is JsonValue v && v.GetValueKind() == JsonValueKind.String
            ? (string)v!
            : throw Error($"{field}[{i}]", $"must be a string, not {Describe(item)}."))];
    }

    /// <summary>A string map; numbers and booleans are taken as their invariant text (SageMaker maps hold strings).</summary>
    public IReadOnlyDictionary<string, string> Map(string field)
    {
        var node = Take(field);
        if (node is null)
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }

        if (node is not JsonObject obj)
        {
            throw Error(field, $"must be an object of string values, not {Describe(node)}.");
        }

        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in obj)
        {
            map[key] = value switch
            {
                JsonValue v when v.GetValueKind() == JsonValueKind.String => (string)v!,
                JsonValue v when v.GetValueKind() == JsonValueKind.Number =>
                    v.TryGetValue<decimal>(out var number) ? number.ToString(CultureInfo.InvariantCulture) : v.ToJsonString(),
                JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>() ? "true" : "false",
                _ => throw Error($"{field}.{key}", $"must be a string, not {Describe(value)}."),
            };
        }

        return map;
    }

    /// <summary>Call after reading every known field: a field left over is a typo or a field of another profile kind.</summary>
    public void RejectUnknown(IEnumerable<string> known)
    {
        var unknown = _fields.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidProfileException(_prefix + unknown[0],
                $"{Source}: unknown field '{_prefix}{unknown[0]}'; known fields{(_prefix.Length > 0 ? $" of '{_prefix.TrimEnd('.')}'" : "")}: {string.Join(", ", known)}.");
        }
    }

    public InvalidProfileException Error(string field, string message) => new(_prefix + field, $"{Source}: '{_prefix}{field}' {message}");

    private JsonNode? Take(string field)
    {
        _read.Add(field);
        return _fields.TryGetValue(field, out var node) ? node : null;
    }

    private static string Describe(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "an object",
        JsonArray => "an array",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => $"the string \"{(string)v!}\"",
        _ => node.ToJsonString(),
    };
}
