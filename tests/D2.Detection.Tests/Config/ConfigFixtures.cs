using D2.Detection.Config;

namespace D2.Detection.Tests.Config;

/// <summary>Detectron2's dumps (copied into Fixtures/) and throw-away YAML files written by the tests.</summary>
internal static class ConfigFixtures
{
    /// <summary>Detectron2 v0.6 <c>get_cfg().dump()</c>.</summary>
    public const string DefaultDump = "detectron2-default-config.yaml";

    /// <summary>Detectron2 v0.6 <c>get_cfg()</c> + <c>merge_from_file(mask_rcnn_R_50_FPN_3x.yaml)</c>, dumped.</summary>
    public const string MaskRCNN3xDump = "detectron2-config-mask_rcnn_R_50_FPN_3x.yaml";

    public static string PathOf(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Config", "Fixtures", name);

    /// <summary>A dump with its aliases written out by PyYAML, without the provenance comment: the text a dump without aliases has.</summary>
    public static string ExpandedText(string dumpName)
    {
        var lines = File.ReadAllLines(PathOf(Path.ChangeExtension(dumpName, ".expanded.yaml")));
        return string.Join("\n", lines.SkipWhile(line => line.StartsWith('#'))) + "\n";
    }

    /// <summary>Defaults with a Detectron2 dump merged in, as Detectron2 would load it.</summary>
    public static CfgNode LoadDump(string dumpName)
    {
        var cfg = DefaultConfig.Create();
        cfg.MergeFromFile(PathOf(dumpName));
        return cfg;
    }
}

/// <summary>A temporary directory for YAML files, deleted on dispose.</summary>
internal sealed class TempConfigDirectory : IDisposable
{
    public TempConfigDirectory()
    {
        Root = Path.Combine(Path.GetTempPath(), "d2-config-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>Writes <paramref name="yaml"/> to <paramref name="relativePath"/> (folders created) and returns the full path.</summary>
    public string Write(string relativePath, string yaml)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml);
        return path;
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
