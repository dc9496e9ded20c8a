using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using D2.Operations.ServiceModels;

namespace D2.Operations.Matrix;

/// <summary>
/// THE GPU architecture matrix (<c>build/gpu-archs.json</c>): which image variant serves which SageMaker instance
/// family, and how images are named. Read from the repository when there is one, else from the copy embedded in
/// this assembly, so the build, the workflows and the module agree on one file.
/// </summary>
public sealed partial class GpuArchitectureMatrix
{
    /// <summary>Path of the matrix relative to the repository root.</summary>
    public const string RelativePath = "build/gpu-archs.json";

    private const string ResourceName = "D2.Operations.gpu-archs.json";

    private readonly Dictionary<string, GpuArchitecture> _byFamily = new(StringComparer.Ordinal);

    private readonly Dictionary<string, int> _gpusPerInstance;

    private GpuArchitectureMatrix(IReadOnlyList<GpuArchitecture> architectures, string source, Dictionary<string, int>? gpusPerInstance = null)
    {
        Architectures = architectures;
        Source = source;
        _gpusPerInstance = gpusPerInstance ?? new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var architecture in architectures)
        {
            foreach (var family in architecture.InstanceFamilies)
            {
                if (!_byFamily.TryAdd(family, architecture))
                {
                    throw new FormatException(
                        $"{source}: instance family '{family}' is listed by both '{_byFamily[family].Name}' and '{architecture.Name}'.");
                }
            }
        }
    }

    public IReadOnlyList<GpuArchitecture> Architectures { get; }

    /// <summary>Where the matrix was read from (a path, or the embedded resource's name).</summary>
    public string Source { get; }

    /// <summary>Every instance family the matrix serves, sorted.</summary>
    public IEnumerable<string> InstanceFamilies => _byFamily.Keys.Order(StringComparer.Ordinal);

    /// <summary>The repository's matrix when <paramref name="startDirectory"/> (default: the current directory, then the
    /// application's folder) is inside the repository, else the embedded copy.</summary>
    public static GpuArchitectureMatrix LoadDefault(string? startDirectory = null) =>
        FindRepositoryFile(startDirectory) is { } path ? Load(path) : LoadEmbedded();

    /// <summary>Walks up from <paramref name="startDirectory"/> (default: the current directory, then the application's
    /// folder) to the first folder holding <c>build/gpu-archs.json</c>; null outside the repository.</summary>
    public static string? FindRepositoryFile(string? startDirectory = null)
    {
        var starts = startDirectory is not null ? [startDirectory] : new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory };
        foreach (var start in starts)
        {
            for (var folder = new DirectoryInfo(Path.GetFullPath(start)); folder is not null; folder = folder.Parent)
            {
                var candidate = Path.Combine(folder.FullName, "build", "gpu-archs.json");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    public static GpuArchitectureMatrix Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>The copy of build/gpu-archs.json compiled into this assembly.</summary>
    public static GpuArchitectureMatrix LoadEmbedded()
    {
        using var stream = typeof(GpuArchitectureMatrix).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException(
                $"This build of D2.Operations has no embedded {RelativePath} (resource {ResourceName}); load the file with Load(path).");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), ResourceName);
    }

    /// <summary>Parses the matrix; errors name <paramref name="source"/>, the entry and the field.</summary>
    public static GpuArchitectureMatrix Parse(string json, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: not valid JSON: {e.Message}", e);
        }

        if (root?["architectures"] is not JsonArray entries || entries.Count == 0)
        {
            throw new FormatException($"{source}: expected an object with a non-empty 'architectures' array.");
        }

        var architectures = new List<GpuArchitecture>();
        for (var i = 0; i < entries.Count; i++)
        {
            var where = $"{source}: architectures[{i}]";
            if (entries[i] is not JsonObject entry)
            {
                throw new FormatException($"{where} is not an object.");
            }

            var name = Text(entry, "name", where);
            where = $"{source}: architecture '{name}'";
            if (!TagPart().IsMatch(name) || architectures.Any(a => a.Name == name))
            {
                throw new FormatException($"{where}: 'name' must be unique and made of a-z, 0-9, '.', '_' or '-'.");
            }

            var backend = Text(entry, "torchBackend", where);
            if (backend is not ("cpu" or "cuda"))
            {
                throw new FormatException($"{where}: 'torchBackend' must be 'cpu' or 'cuda', not '{backend}'.");
            }

            var capabilities = Strings(entry, "computeCapabilities", where);
            if (capabilities.Any(c => !ComputeCapability().IsMatch(c)) || (backend == "cuda") != (capabilities.Count > 0))
            {
                throw new FormatException($"{where}: 'computeCapabilities' must list sm_NN targets for cuda entries and be empty for cpu.");
            }

            var families = Strings(entry, "instanceFamilies", where);
            if (families.Count == 0 || families.Any(f => !InstanceFamily().IsMatch(f)))
            {
                throw new FormatException($"{where}: 'instanceFamilies' must list SageMaker families such as 'ml.g5' (no size).");
            }

            var package = entry["libTorchPackage"] is null ? null : Text(entry, "libTorchPackage", where);
            var nccl = entry["ncclPackage"] is null ? null : Text(entry, "ncclPackage", where);
            if (nccl is not null && (backend != "cuda" || !NcclPin().IsMatch(nccl)))
            {
                throw new FormatException($"{where}: 'ncclPackage' is for cuda entries and reads libnccl2=VERSION+cudaX.Y (got '{nccl}').");
            }

            architectures.Add(new GpuArchitecture(name, backend, package, Text(entry, "baseImage", where), capabilities, families, nccl));
        }

        var gpus = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root["gpusPerInstance"] is JsonNode counts)
        {
            if (counts is not JsonObject map)
            {
                throw new FormatException($"{source}: 'gpusPerInstance' must be an object of instance type -> GPU count.");
            }

            foreach (var (type, count) in map.Where(m => !m.Key.StartsWith('$')))
            {
                var family = FamilyOf(type);
                if (family is null || !architectures.Any(a => a.IsGpu && a.InstanceFamilies.Contains(family)))
                {
                    throw new FormatException($"{source}: gpusPerInstance '{type}' is not an instance type of a cuda entry's family.");
                }

                if (count is not JsonValue value || !value.TryGetValue<int>(out var n) || n < 1)
                {
                    throw new FormatException($"{source}: gpusPerInstance '{type}' must be a positive integer.");
                }

                gpus[type] = n;
            }
        }

        return new GpuArchitectureMatrix(architectures, source, gpus);
    }

    /// <summary>
    /// The trainer's workers on one instance of <paramref name="instanceType"/>: one per GPU (gpusPerInstance, else one
    /// for a cuda family), one on a CPU instance.
    /// </summary>
    /// <exception cref="ArgumentException">Not a SageMaker training instance type, or a family the matrix does not serve.</exception>
    public int WorkersPerInstance(string instanceType)
    {
        var architecture = ForInstanceType(instanceType, InstanceTypeUse.Training);
        return architecture.IsGpu && _gpusPerInstance.TryGetValue(instanceType, out var gpus) ? gpus : 1;
    }

    /// <summary>The architecture named <paramref name="name"/> (e.g. <c>ampere</c>).</summary>
    public GpuArchitecture Get(string name) =>
        Architectures.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException(
            $"No architecture '{name}' in {Source}; known: {string.Join(", ", Architectures.Select(a => a.Name))}.", nameof(name));

    /// <summary>
    /// The architecture whose image runs on <paramref name="instanceType"/> (e.g. <c>ml.g5.2xlarge</c> → ampere).
    /// The type must be one SageMaker accepts for <paramref name="use"/> (the model's instance-type enums).
    /// </summary>
    /// <exception cref="ArgumentException">Not a SageMaker instance type, or a family the matrix does not serve.</exception>
    public GpuArchitecture ForInstanceType(string instanceType, InstanceTypeUse use = InstanceTypeUse.Any)
    {
        ArgumentNullException.ThrowIfNull(instanceType);
        var known = KnownInstanceTypes(use);
        if (!known.Contains(instanceType))
        {
            var what = use switch
            {
                InstanceTypeUse.Training => "a SageMaker training instance type (TrainingInstanceType)",
                InstanceTypeUse.Hosting => "a SageMaker hosting instance type (ProductionVariantInstanceType)",
                _ => "a SageMaker instance type",
            };
            var family = FamilyOf(instanceType);
            var sameFamily = family is null ? [] : known.Where(t => FamilyOf(t) == family).Order(StringComparer.Ordinal).ToList();
            var hint = sameFamily.Count > 0 ? $"; {family} offers {string.Join(", ", sameFamily)}" : $"; served families: {FamilyList()}";
            throw new ArgumentException($"Instance type '{instanceType}' is not {what}{hint}.", nameof(instanceType));
        }

        var instanceFamily = FamilyOf(instanceType)!;
        return _byFamily.TryGetValue(instanceFamily, out var architecture)
            ? architecture
            : throw new ArgumentException(
                $"Instance type '{instanceType}' (family {instanceFamily}) has no image architecture in {Source}{UnservedReason(instanceFamily)}; served families: {FamilyList()}.",
                nameof(instanceType));
    }

    /// <summary>Why a family SageMaker offers cannot run these images (they are linux-x64 with CPU or CUDA libtorch).</summary>
    private static string UnservedReason(string family) => family switch
    {
        _ when family.StartsWith("ml.inf", StringComparison.Ordinal) => ": AWS Inferentia runs Neuron-compiled models, not libtorch CPU/CUDA images",
        _ when family.StartsWith("ml.trn", StringComparison.Ordinal) => ": AWS Trainium runs Neuron-compiled models, not libtorch CPU/CUDA images",
        _ when family.Contains("gb", StringComparison.Ordinal) => ": Grace hosts are arm64 and the images are linux-x64",
        _ when GravitonFamily().IsMatch(family) => ": AWS Graviton is arm64 and the images are linux-x64",
        _ => "",
    };

    /// <summary><c>{registry}/{repository}:{version}-{arch}</c>; a registry given as https://host is reduced to the host.</summary>
    public static string ImageUri(string registry, string repository, string version, GpuArchitecture architecture)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        return ImageUri(registry, repository, version, architecture.Name);
    }

    /// <inheritdoc cref="ImageUri(string, string, string, GpuArchitecture)"/>
    public static string ImageUri(string registry, string repository, string version, string architecture)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(registry);
        ArgumentException.ThrowIfNullOrWhiteSpace(repository);
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture);
        var host = registry.Trim();
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        host = (scheme >= 0 ? host[(scheme + 3)..] : host).TrimEnd('/');
        var tag = $"{version}-{architecture}";
        if (!DockerTag().IsMatch(tag))
        {
            throw new ArgumentException($"Image tag '{tag}' (version '{version}') is not a valid docker tag: [A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}}.", nameof(version));
        }

        return $"{host}/{repository.Trim('/')}:{tag}";
    }

    /// <summary><c>ml.g5</c> for <c>ml.g5.2xlarge</c>; null when the text is not of the form ml.family.size.</summary>
    public static string? FamilyOf(string instanceType)
    {
        var last = instanceType.LastIndexOf('.');
        return instanceType.StartsWith("ml.", StringComparison.Ordinal) && last > 3 && last < instanceType.Length - 1
            ? instanceType[..last]
            : null;
    }

    private string FamilyList() =>
        string.Join(", ", Architectures.Select(a => $"{string.Join("/", a.InstanceFamilies)} ({a.Name})"));

    private static HashSet<string> KnownInstanceTypes(InstanceTypeUse use)
    {
        var model = ServiceModel.Get("sagemaker");
        IEnumerable<string> Enum(string shape) => model.GetShape(shape).Enum ?? [];
        return use switch
        {
            InstanceTypeUse.Training => [.. Enum("TrainingInstanceType")],
            InstanceTypeUse.Hosting => [.. Enum("ProductionVariantInstanceType")],
            _ => [.. Enum("TrainingInstanceType"), .. Enum("ProductionVariantInstanceType")],
        };
    }

    private static string Text(JsonObject entry, string field, string where) =>
        entry[field] is JsonValue value && value.GetValueKind() == JsonValueKind.String && !string.IsNullOrWhiteSpace((string?)value)
            ? (string)value!
            : throw new FormatException($"{where}: '{field}' must be a non-empty string.");

    private static List<string> Strings(JsonObject entry, string field, string where) =>
        entry[field] is JsonArray array && array.All(e => e is JsonValue v && v.GetValueKind() == JsonValueKind.String)
            ? [.. array.Select(e => (string)e!)]
            : throw new FormatException($"{where}: '{field}' must be an array of strings.");

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]*$")]
    private static partial Regex TagPart();

    [GeneratedRegex(@"^libnccl2=[0-9][0-9.]*-[0-9]+\+cuda[0-9]+\.[0-9]+$")]
    private static partial Regex NcclPin();

    [GeneratedRegex("^sm_[0-9]{2,3}[a-z]?$")]
    private static partial Regex ComputeCapability();

    // c6g, m6gd, c7gn, r8g...: the 'g' after the generation marks Graviton.
    [GeneratedRegex("^ml\\.[a-z]+[0-9]+g[a-z]*$")]
    private static partial Regex GravitonFamily();

    [GeneratedRegex("^ml\\.[a-z0-9-]+$")]
    private static partial Regex InstanceFamily();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex DockerTag();
}
