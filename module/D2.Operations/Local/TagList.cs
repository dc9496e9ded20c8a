using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>AddTags semantics: a tag with an existing key replaces its value.</summary>
internal static class TagList
{
    public static void Merge(JsonArray existing, JsonArray added)
    {
        foreach (var tag in added.OfType<JsonObject>())
        {
            var key = (string?)tag["Key"];
            var same = existing.OfType<JsonObject>().FirstOrDefault(t => (string?)t["Key"] == key);
            if (same is not null)
                existing.Remove(same);
            existing.Add(tag.DeepClone());
        }
    }
}
