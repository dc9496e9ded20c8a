using System.Reflection;

namespace D2.Detection.Config;

/// <summary>
/// Where config files live: the file system, or the model zoo embedded in this assembly under
/// <c>model-zoo://&lt;Detectron2 path&gt;</c>. Resolves <c>_BASE_</c> references the way fvcore does.
/// </summary>
internal static class ConfigSource
{
    public const string ZooScheme = "model-zoo://";

    private const string ZooResourcePrefix = "D2.Detection.Configs/";

    /// <summary>Zoo name -> manifest resource name (built on Windows, %(RecursiveDir) puts '\\' in the latter).</summary>
    private static readonly Lazy<SortedDictionary<string, string>> ZooResources = new(() => new(
        typeof(ConfigSource).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(ZooResourcePrefix, StringComparison.Ordinal))
            .ToDictionary(name => name[ZooResourcePrefix.Length..].Replace('\\', '/'), name => name),
        StringComparer.Ordinal));

    private static readonly Lazy<IReadOnlyList<string>> ZooNames = new(() => [.. ZooResources.Value.Keys]);

    /// <summary>The zoo's config names, e.g. "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml", sorted.</summary>
    public static IReadOnlyList<string> ZooConfigNames => ZooNames.Value;

    public static bool IsZoo(string path) => path.StartsWith(ZooScheme, StringComparison.Ordinal);

    /// <summary>A zoo path as is (segments normalised), a file path made absolute.</summary>
    public static string Normalize(string path) => IsZoo(path)
        ? ZooScheme + NormalizeZooPath(path[ZooScheme.Length..], path)
        : Path.GetFullPath(ExpandHome(path));

    /// <summary>
    /// fvcore's rule for <c>_BASE_</c>: <c>~</c> expanded; absolute paths used as they are; anything else is
    /// relative to the directory of the file that names it (inside the zoo for a zoo file).
    /// </summary>
    public static string ResolveBase(string reference, string fromFile)
    {
        if (reference.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || reference.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ConfigException($"{fromFile}: _BASE_ '{reference}' is a URL; remote base configs are not supported (no network access), copy it next to the file.")
            {
                File = fromFile,
            };
        }

        if (IsZoo(reference))
        {
            return Normalize(reference);
        }

        var expanded = ExpandHome(reference);
        if (Path.IsPathRooted(expanded))
        {
            return Path.GetFullPath(expanded);
        }

        if (IsZoo(fromFile))
        {
            var zooPath = fromFile[ZooScheme.Length..];
            var directory = zooPath.Contains('/') ? zooPath[..zooPath.LastIndexOf('/')] + "/" : string.Empty;
            return ZooScheme + NormalizeZooPath(directory + expanded, fromFile);
        }

        return Path.GetFullPath(Path.Combine(Path.GetDirectoryName(fromFile) ?? ".", expanded));
    }

    /// <exception cref="ConfigException">the file does not exist</exception>
    public static string ReadAllText(string path, string? referencedFrom)
    {
        var from = referencedFrom is null ? string.Empty : $" (the _BASE_ of {referencedFrom})";
        if (IsZoo(path))
        {
            var name = path[ZooScheme.Length..];
            using var stream = (ZooResources.Value.TryGetValue(name, out var resource) ? typeof(ConfigSource).Assembly.GetManifestResourceStream(resource) : null)
                ?? throw new ConfigException($"Config file '{path}'{from} is not in the model zoo. Model-zoo configs: {string.Join(", ", ZooConfigNames)}.") { File = path };
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }

        if (!System.IO.File.Exists(path))
        {
            throw new ConfigException($"Config file '{path}'{from} does not exist.") { File = path };
        }

        return System.IO.File.ReadAllText(path);
    }

    /// <summary>An embedded resource of this assembly that is not part of the zoo (the defaults).</summary>
    public static string ReadResource(string logicalName)
    {
        using var stream = typeof(ConfigSource).Assembly.GetManifestResourceStream(logicalName)
            ?? throw new InvalidOperationException($"embedded resource {logicalName} is missing from {Assembly.GetExecutingAssembly().GetName().Name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static string NormalizeZooPath(string relative, string original)
    {
        var parts = new List<string>();
        foreach (var part in relative.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "..")
            {
                if (parts.Count == 0)
                {
                    throw new ConfigException($"'{original}' points outside the model zoo.") { File = original };
                }

                parts.RemoveAt(parts.Count - 1);
            }
            else if (part != ".")
            {
                parts.Add(part);
            }
        }

        return string.Join('/', parts);
    }

    private static string ExpandHome(string path) =>
        path == "~" || path.StartsWith("~/", StringComparison.Ordinal)
            ? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) + path[1..]
            : path;
}
