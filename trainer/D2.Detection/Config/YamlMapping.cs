namespace D2.Detection.Config;

/// <summary>One value of a YAML config document and where it was written (for messages).</summary>
/// <param name="Value">a leaf (see <see cref="ConfigValues"/>) or a nested <see cref="YamlMapping"/></param>
/// <param name="Location">"file.yaml:12"</param>
internal readonly record struct YamlEntry(object? Value, string Location);

/// <summary>
/// A YAML config document as loaded, before it is merged into a config: what PyYAML's <c>safe_load</c>
/// returns, with the location of every value so that errors can name the file and line.
/// </summary>
internal sealed class YamlMapping
{
    public YamlMapping(string location) => Location = location;

    /// <summary>Where the mapping starts ("file.yaml:3").</summary>
    public string Location { get; }

    public OrderedDictionary<string, YamlEntry> Entries { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// fvcore's <c>_BASE_</c> merge: mappings merge key by key, anything else in <paramref name="overrides"/>
    /// replaces what this mapping holds.
    /// </summary>
    public void DeepMerge(YamlMapping overrides)
    {
        foreach (var (key, entry) in overrides.Entries)
        {
            if (entry.Value is YamlMapping child && Entries.TryGetValue(key, out var existing))
            {
                if (existing.Value is not YamlMapping inherited)
                {
                    throw new ConfigException(
                        $"Cannot inherit key '{key}' from the base config: it is a group at {entry.Location} but a value at {existing.Location}.")
                    {
                        Key = key,
                    };
                }

                inherited.DeepMerge(child);
            }
            else
            {
                Entries[key] = entry;
            }
        }
    }
}
