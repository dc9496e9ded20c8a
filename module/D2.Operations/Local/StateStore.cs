using System.Text.Json;
using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>
/// One JSON file per resource under <c>{root}/state/{kind}/{key}.json</c>, written to a temporary name and renamed so
/// a crash never leaves half a record. Keys are lower-cased names (SageMaker names are case-insensitive).
/// </summary>
internal sealed class StateStore(string root)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public string Root { get; } = root;

    public void Save(string kind, string name, JsonObject record)
    {
        var path = PathOf(kind, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(temp, record.ToJsonString(Indented));
        File.Move(temp, path, overwrite: true);
    }

    public void Delete(string kind, string name) => File.Delete(PathOf(kind, name));

    /// <summary>Every stored record of a kind; unreadable files (a foreign file, a torn write from an old version) are skipped.</summary>
    public IEnumerable<JsonObject> LoadAll(string kind)
    {
        var folder = Path.Combine(Root, "state", kind);
        if (!Directory.Exists(folder))
            yield break;
        foreach (var file in Directory.EnumerateFiles(folder, "*.json"))
        {
            JsonObject? record = null;
            try
            {
                record = JsonNode.Parse(File.ReadAllText(file)) as JsonObject;
            }
            catch (JsonException)
            {
            }
            if (record is not null)
                yield return record;
        }
    }

    /// <summary>Every stored record of a kind that <paramref name="load"/> makes an object of (null: skipped).</summary>
    public IEnumerable<T> LoadAll<T>(string kind, Func<StateStore, JsonObject, T?> load)
        where T : class =>
        LoadAll(kind).Select(record => load(this, record)).OfType<T>();

    private string PathOf(string kind, string name) => Path.Combine(Root, "state", kind, name.ToLowerInvariant() + ".json");
}
