namespace D2.Detection.Config;

/// <summary>
/// Detectron2's defaults (<c>detectron2/config/defaults.py</c>): every key with its default value and type,
/// read from the embedded <c>Config/Defaults.yaml</c> (written from Detectron2's own dump, with tuples tagged
/// <c>!!python/tuple</c> because a dump writes them as lists).
/// </summary>
public static class DefaultConfig
{
    private const string ResourceName = "D2.Detection.Config/Defaults.yaml";

    private static readonly Lazy<CfgNode> Defaults = new(() =>
    {
        var mapping = YamlConfigReader.Read(ConfigSource.ReadResource(ResourceName), ResourceName);
        var node = CfgNode.FromMapping(mapping);
        node.Freeze();
        return node;
    });

    /// <summary>A fresh, mutable copy of the defaults (Detectron2's <c>get_cfg()</c>).</summary>
    public static CfgNode Create()
    {
        var copy = Defaults.Value.Clone();
        copy.Defrost();
        return copy;
    }

    /// <summary>The default value of <paramref name="key"/>, or false where Detectron2 has no such key.</summary>
    public static bool TryGetDefault(string key, out object? value)
    {
        if (Defaults.Value.ContainsKey(key))
        {
            value = Defaults.Value[key];
            return true;
        }

        value = null;
        return false;
    }
}
