namespace D2.Detection.Config;

/// <summary>
/// Detectron2's model-zoo configs, embedded under their Detectron2 names
/// (<c>COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml</c>, <c>Base-RCNN-FPN.yaml</c>, ...), plus this
/// port's small from-scratch CPU configs under <c>Misc/</c>.
/// </summary>
public static class ModelZoo
{
    /// <summary>The prefix of a zoo config's path: <c>model-zoo://COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml</c>.</summary>
    public const string Scheme = ConfigSource.ZooScheme;

    /// <summary>Every zoo config name, sorted.</summary>
    public static IReadOnlyList<string> ConfigNames => ConfigSource.ZooConfigNames;

    /// <summary>
    /// Detectron2's <c>model_zoo.get_config_file</c>: the path to give <see cref="CfgNode.MergeFromFile"/>. A zoo
    /// name (with or without <c>.yaml</c> or the <c>model-zoo://</c> prefix) gives its <c>model-zoo://</c> path;
    /// otherwise an existing file gives its full path.
    /// </summary>
    /// <exception cref="ConfigException">neither a zoo name nor an existing file; the message lists the zoo</exception>
    public static string GetConfigFile(string nameOrPath)
    {
        var name = nameOrPath.StartsWith(Scheme, StringComparison.Ordinal) ? nameOrPath[Scheme.Length..] : nameOrPath;
        foreach (var candidate in new[] { name, name + ".yaml" })
        {
            if (ConfigNames.Contains(candidate, StringComparer.Ordinal))
            {
                return Scheme + candidate;
            }
        }

        if (!nameOrPath.StartsWith(Scheme, StringComparison.Ordinal) && File.Exists(nameOrPath))
        {
            return Path.GetFullPath(nameOrPath);
        }

        throw new ConfigException(
            $"'{nameOrPath}' is neither a model-zoo config nor an existing file. Model-zoo configs: {string.Join(", ", ConfigNames)}.")
        {
            File = nameOrPath,
        };
    }

    /// <summary>Detectron2's <c>model_zoo.get_config</c>: the resolved, validated config (not frozen).</summary>
    public static CfgNode GetConfig(string nameOrPath, IReadOnlyList<string>? opts = null) =>
        ConfigLoader.Load(nameOrPath, opts, freeze: false);
}
