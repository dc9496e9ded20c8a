namespace D2.Detection.Config;

/// <summary>
/// Loading a config as a Detectron2 program does at start: defaults, then a YAML file (with its
/// <c>_BASE_</c> chain), then command-line opts, then validation and freezing.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Defaults + <paramref name="configFile"/> + <paramref name="opts"/>, validated and (by default) frozen.</summary>
    /// <param name="configFile">a model-zoo name (see <see cref="ModelZoo"/>) or a file path</param>
    /// <param name="opts">alternating <c>FULL.KEY value</c> pairs, as after Detectron2's named arguments</param>
    /// <example><c>ConfigLoader.Load("COCO-Detection/faster_rcnn_R_50_FPN_3x", ["MODEL.DEVICE", "cpu"])</c></example>
    /// <param name="purpose">what the config is for: <see cref="ConfigPurpose.Inference"/> accepts training-only features</param>
    public static CfgNode Load(string configFile, IReadOnlyList<string>? opts = null, bool freeze = true, ConfigPurpose purpose = ConfigPurpose.Training)
    {
        var cfg = DefaultConfig.Create();
        cfg.MergeFromFile(ModelZoo.GetConfigFile(configFile));
        if (opts is not null)
        {
            cfg.MergeFromList(opts);
        }

        cfg.Validate(purpose);
        if (freeze)
        {
            cfg.Freeze();
        }

        return cfg;
    }

    /// <summary>
    /// fvcore's <c>load_yaml_with_base</c>: the YAML document of <paramref name="file"/> with its bases merged
    /// under it (mappings key by key, other values replaced) and <c>_BASE_</c> removed. <c>_BASE_</c> is a path
    /// or a list of paths (merged in order); a chain that comes back to a file is an error.
    /// </summary>
    internal static YamlMapping LoadYamlWithBase(string file) => LoadWithBase(ConfigSource.Normalize(file), referencedFrom: null, []);

    private static YamlMapping LoadWithBase(string file, string? referencedFrom, List<string> chain)
    {
        if (chain.Contains(file, StringComparer.Ordinal))
        {
            throw new ConfigException($"_BASE_ cycle: {string.Join(" -> ", chain.Append(file))}") { File = file };
        }

        var document = YamlConfigReader.Read(ConfigSource.ReadAllText(file, referencedFrom), file);
        if (!document.Entries.Remove(CfgNode.BaseKey, out var baseEntry))
        {
            return document;
        }

        var references = baseEntry.Value switch
        {
            string single => [single],
            CfgSequence list when list.All(item => item is string) => list.Cast<string>().ToList(),
            _ => throw new ConfigException($"{baseEntry.Location}: _BASE_ must be a file path or a list of paths, not {PythonRepr.Format(baseEntry.Value)}.")
            {
                File = file,
                Key = CfgNode.BaseKey,
            },
        };

        chain.Add(file);
        var merged = new YamlMapping(file);
        foreach (var reference in references)
        {
            merged.DeepMerge(LoadWithBase(ConfigSource.ResolveBase(reference, file), file, chain));
        }

        chain.RemoveAt(chain.Count - 1);
        merged.DeepMerge(document);
        return merged;
    }
}
