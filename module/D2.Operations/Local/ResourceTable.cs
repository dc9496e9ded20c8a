using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>
/// Models and endpoint configurations: immutable once created, so a record is just the Describe document and the
/// tags, kept in memory and on disk. Names are case-insensitive, as their lower-cased ARNs.
/// </summary>
internal sealed class ResourceTable
{
    private readonly StateStore _store;
    private readonly string _kind;
    private readonly string _noun;
    private readonly Func<string, string> _arn;
    private readonly Dictionary<string, (JsonObject Description, JsonArray Tags)> _items = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    /// <param name="noun">How SageMaker names the resource in messages ("model", "endpoint configuration").</param>
    public ResourceTable(StateStore store, string kind, string noun, Func<string, string> arn)
    {
        _store = store;
        _kind = kind;
        _noun = noun;
        _arn = arn;
        foreach (var record in store.LoadAll(kind))
        {
            if (record["Description"] is JsonObject description && record["Name"] is JsonValue name)
                _items[(string)name!] = ((JsonObject)description.DeepClone(), record["Tags"]?.DeepClone() as JsonArray ?? []);
        }
    }

    public void Add(string name, JsonObject description, JsonArray tags)
    {
        lock (_gate)
        {
            if (_items.ContainsKey(name))
                throw LocalApiException.Validation($"Cannot create already existing {_noun} \"{_arn(name)}\".");
            _items[name] = (description, tags);
            _store.Save(_kind, name, new JsonObject { ["Name"] = name, ["Description"] = description.DeepClone(), ["Tags"] = tags.DeepClone() });
        }
    }

    /// <summary>A copy of the Describe document, or SageMaker's "Could not find ..." ValidationException.</summary>
    public JsonObject Get(string name)
    {
        lock (_gate)
        {
            return _items.TryGetValue(name, out var item)
                ? (JsonObject)item.Description.DeepClone()
                : throw LocalApiException.Validation($"Could not find {_noun} \"{_arn(name)}\".");
        }
    }

    public void Delete(string name)
    {
        lock (_gate)
        {
            if (!_items.Remove(name))
                throw LocalApiException.Validation($"Could not find {_noun} \"{_arn(name)}\".");
            _store.Delete(_kind, name);
        }
    }

    /// <summary>Adds or replaces tags of the resource with this ARN; false when no resource has it.</summary>
    public bool TryAddTags(string arn, JsonArray tags)
    {
        lock (_gate)
        {
            foreach (var (name, item) in _items)
            {
                if (!string.Equals(_arn(name), arn, StringComparison.OrdinalIgnoreCase))
                    continue;
                TagList.Merge(item.Tags, tags);
                _store.Save(_kind, name, new JsonObject { ["Name"] = name, ["Description"] = item.Description.DeepClone(), ["Tags"] = item.Tags.DeepClone() });
                return true;
            }
            return false;
        }
    }
}
