using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using D2.SageMaker.Contract;

namespace D2.Trainer.SageMaker;

/// <summary>
/// The job's hyperparameters.json. SageMaker passes every value as a string; the Python SDK JSON-encodes values before
/// sending (the string abc arrives as "\"abc\"") and the training toolkit JSON-decodes them, falling back to the raw
/// string, so the same is done here. Keys may be written with '-' or '_'. Reserved sagemaker_* keys are ignored; any
/// other key not in <see cref="TrainerHyperParameters.Descriptions"/> (the one list, shared with job creation) is an
/// error, so that a typo does not silently train with defaults.
/// </summary>
internal sealed class Hyperparameters
{
    private readonly Dictionary<string, string> _values;

    private Hyperparameters(Dictionary<string, string> values) => _values = values;

    /// <summary>The user's hyperparameters (decoded values as text), sagemaker_* keys excluded.</summary>
    public IReadOnlyDictionary<string, string> Values => _values;

    /// <exception cref="JobInputException">the file is not a JSON object of strings, or names an unknown key</exception>
    public static Hyperparameters Load(string path)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new JobInputException($"{path}: hyperparameters must be a JSON object of strings.");
        }
        catch (JsonException e)
        {
            throw new JobInputException($"{path}: is not valid JSON ({e.Message})", e);
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (rawKey, node) in root)
        {
            if (rawKey.StartsWith(TrainerHyperParameters.ReservedPrefix, StringComparison.Ordinal) || rawKey.StartsWith('_'))
                continue;
            var key = rawKey.Replace('_', '-');
            if (!TrainerHyperParameters.Descriptions.ContainsKey(key))
                throw new JobInputException($"unknown hyperparameter '{rawKey}'. Known hyperparameters: {string.Join(", ", TrainerHyperParameters.All)}.");
            if (!values.TryAdd(key, Decode(node)))
                throw new JobInputException($"hyperparameter '{key}' is given twice (as '{rawKey}' and with the other spelling).");
        }
        return new Hyperparameters(values);
    }

    /// <summary>The toolkit's rule: a value that parses as JSON is that JSON value, otherwise the raw string.</summary>
    private static string Decode(JsonNode? node)
    {
        if (node is null)
            return "";
        if (node is not JsonValue value || !value.TryGetValue<string>(out var text))
            return node.ToJsonString(); // SageMaker itself only sends strings; be lenient with local files
        try
        {
            return JsonNode.Parse(text) switch
            {
                JsonValue decoded when decoded.TryGetValue<string>(out var inner) => inner,
                JsonValue decoded => decoded.ToJsonString(),
                JsonArray array => string.Join(' ', array.Select(item => item is JsonValue v && v.TryGetValue<string>(out var s) ? s : item?.ToJsonString() ?? "")),
                _ => text,
            };
        }
        catch (JsonException)
        {
            return text;
        }
    }

    public string? Get(string key) => _values.TryGetValue(key, out var value) && value.Length > 0 ? value : null;

    /// <exception cref="JobInputException">the value is not a boolean</exception>
    public bool GetBool(string key, bool defaultValue)
    {
        if (Get(key) is not { } value)
            return defaultValue;
        return value.Trim().ToLowerInvariant() switch
        {
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw new JobInputException($"hyperparameter '{key}' must be true or false, not '{value}'."),
        };
    }

    /// <exception cref="JobInputException">the value is not an integer</exception>
    public long? GetInt(string key)
    {
        if (Get(key) is not { } value)
            return null;
        return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new JobInputException($"hyperparameter '{key}' must be an integer, not '{value}'.");
    }

    /// <summary>A comma-separated list, or null when unset.</summary>
    public string[]? GetList(string key) =>
        Get(key)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
