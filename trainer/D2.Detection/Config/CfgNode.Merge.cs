namespace D2.Detection.Config;

/// <summary>Merging files, YAML text and command-line opts into a config, with yacs' rules.</summary>
public sealed partial class CfgNode
{
    /// <summary>The key fvcore reserves for inheritance; allowed only at the top of a file.</summary>
    internal const string BaseKey = "_BASE_";

    /// <summary>The config format version Detectron2 writes today (key <c>VERSION</c>).</summary>
    internal const long LatestVersion = 2;

    /// <summary>
    /// Detectron2's <c>merge_from_file</c>: loads the YAML with its <c>_BASE_</c> chain and merges it into this
    /// config. Every key must exist and every value must have its key's type.
    /// </summary>
    /// <param name="path">a file path or a <c>model-zoo://</c> name (see <see cref="ModelZoo.GetConfigFile"/>)</param>
    public void MergeFromFile(string path)
    {
        var file = ConfigSource.Normalize(path);
        var loaded = ConfigLoader.LoadYamlWithBase(file);
        CheckVersion(loaded, file);
        MergeWithContext(loaded, file);
    }

    /// <summary>Merges a YAML document given as text (e.g. a dumped <c>config.yaml</c>); <c>_BASE_</c> is not allowed here.</summary>
    public void MergeFromYamlText(string yaml, string sourceName = "<yaml text>")
    {
        var loaded = YamlConfigReader.Read(yaml, sourceName);
        if (loaded.Entries.ContainsKey(BaseKey))
        {
            throw new ConfigException($"{sourceName}: the reserved key '{BaseKey}' can only be used in files.") { File = sourceName, Key = BaseKey };
        }

        CheckVersion(loaded, sourceName);
        MergeWithContext(loaded, sourceName);
    }

    /// <summary>
    /// yacs' <c>merge_from_list</c>: alternating <c>FULL.KEY value</c> pairs as given on a command line. Each
    /// value is read as a Python literal when it is one (<c>20000</c>, <c>0.00025</c>, <c>True</c>, <c>(1000,)</c>,
    /// <c>"('balloon_train',)"</c>), else kept as a string (paths), then type-checked against the key.
    /// </summary>
    public void MergeFromList(IReadOnlyList<string> opts)
    {
        if (opts.Count % 2 != 0)
        {
            throw new ConfigException(
                $"Override list has odd length ({opts.Count}): it must be KEY VALUE pairs, but '{opts[^1]}' has no value. Opts: {string.Join(" ", opts)}");
        }

        for (var i = 0; i < opts.Count; i += 2)
        {
            var key = opts[i];
            if (key == BaseKey)
            {
                throw new ConfigException($"The reserved key '{BaseKey}' can only be used in files, not in opts.") { Key = BaseKey };
            }

            var (parent, leafKey) = ParentOf(key, "in opts");
            var fullKey = FullKey(key);
            var current = parent._entries[leafKey];
            if (current is CfgNode)
            {
                throw GroupNotValue(fullKey, "in opts");
            }

            parent.ThrowIfFrozen(fullKey);
            parent._entries[leafKey] = ConfigValues.CheckAndCoerce(Decode(opts[i + 1]), current, fullKey, "in opts");
        }
    }

    /// <summary>yacs' <c>_decode_cfg_value</c>: a string that is a Python literal becomes that value.</summary>
    internal static object? Decode(object? value) =>
        value is string text && PythonLiteral.TryParse(text, out var parsed) ? parsed : value;

    private void MergeWithContext(YamlMapping loaded, string file)
    {
        try
        {
            MergeMapping(loaded);
        }
        catch (ConfigException e) when (e.File is null)
        {
            // Locations name the file that wrote each value; say which file was being merged when it was a base.
            var message = e.Message.Contains(file, StringComparison.Ordinal) ? e.Message : $"{e.Message} [while merging {file}]";
            throw new ConfigException(message, e) { Key = e.Key, File = file };
        }
    }

    /// <summary>yacs' <c>_merge_a_into_b</c>: groups merge key by key, values replace after the type check.</summary>
    private void MergeMapping(YamlMapping mapping)
    {
        foreach (var (key, entry) in mapping.Entries)
        {
            var fullKey = FullKey(key);
            if (!_entries.TryGetValue(key, out var current))
            {
                throw key == BaseKey
                    ? new ConfigException($"The reserved key '{BaseKey}' is only allowed at the top of a file (at {entry.Location}).") { Key = fullKey }
                    : UnknownKey(fullKey, this, key, "at " + entry.Location);
            }

            var value = Decode(entry.Value);
            if (current is CfgNode group)
            {
                if (value is not YamlMapping child)
                {
                    throw GroupNotValue(fullKey, "at " + entry.Location);
                }

                group.MergeMapping(child);
                continue;
            }

            if (value is YamlMapping)
            {
                throw new ConfigException($"Config key {fullKey} is a single value, not a group of keys (at {entry.Location}).") { Key = fullKey };
            }

            ThrowIfFrozen(fullKey);
            _entries[key] = ConfigValues.CheckAndCoerce(value, current, fullKey, "at " + entry.Location);
        }
    }

    /// <summary>
    /// Detectron2 upgrades v1 configs on load; this port reads only the current v2 (a file without VERSION
    /// is taken as v2, and v1-only keys then fail as unknown keys).
    /// </summary>
    private static void CheckVersion(YamlMapping loaded, string file)
    {
        if (!loaded.Entries.TryGetValue("VERSION", out var version))
        {
            return;
        }

        if (Decode(version.Value) is not long number || number != LatestVersion)
        {
            throw new ConfigException(
                $"{file}: VERSION {PythonRepr.Format(version.Value)} is not supported (at {version.Location}); only v{LatestVersion} configs load here "
                + "(Detectron2 upgrades v1 files; rewrite them with the v2 key names).")
            {
                Key = "VERSION",
                File = file,
            };
        }
    }
}
