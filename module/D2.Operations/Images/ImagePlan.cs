using System.Text.RegularExpressions;
using D2.Operations.Matrix;

namespace D2.Operations.Images;

/// <summary>
/// The images of the selected architectures of the matrix: per architecture a trainer and a serving image, tagged
/// <c>{registry}/{repository}:{version}-{arch}</c> and <c>:{git-sha}-{arch}</c>, with the architecture's facts as build
/// arguments and OCI labels. The build's Images target runs (or, with <c>--image-plan</c>, prints) these; Push pushes them.
/// </summary>
public sealed partial class ImagePlan
{
    private ImagePlan(IReadOnlyList<ImageBuild> builds) => Builds = builds;

    public IReadOnlyList<ImageBuild> Builds { get; }

    /// <summary>Every tag of every image, in plan order.</summary>
    public IEnumerable<string> Tags => Builds.SelectMany(b => b.Tags);

    /// <param name="matrix">The GPU architecture matrix.</param>
    /// <param name="architectures">Names to build (case-insensitive); null or empty: every entry.</param>
    /// <param name="registry">Registry host (an ECR registry, <c>localhost:5000</c>, ...).</param>
    /// <param name="version">Product version (first tag).</param>
    /// <param name="gitRevision">Commit the images are built from (second tag and the revision label).</param>
    /// <param name="source">Repository URL for <c>org.opencontainers.image.source</c>; omitted when null.</param>
    /// <param name="created">Build time for <c>org.opencontainers.image.created</c>; omitted when null (reproducible plans).</param>
    public static ImagePlan Create(
        GpuArchitectureMatrix matrix,
        IEnumerable<string>? architectures,
        string registry,
        string version,
        string gitRevision,
        string? source = null,
        DateTimeOffset? created = null)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        ArgumentException.ThrowIfNullOrWhiteSpace(registry);
        ArgumentException.ThrowIfNullOrWhiteSpace(version);
        ArgumentException.ThrowIfNullOrWhiteSpace(gitRevision);
        if (!Revision().IsMatch(gitRevision))
        {
            throw new ArgumentException($"Git revision '{gitRevision}' is not a commit id (7 to 40 hex digits).", nameof(gitRevision));
        }

        var names = architectures?.SelectMany(a => a.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList() ?? [];
        var selected = names.Count == 0 ? matrix.Architectures : names.Select(matrix.Get).Distinct().ToList();
        var builds = new List<ImageBuild>();
        foreach (var architecture in selected)
        {
            foreach (var component in ImageComponent.All)
            {
                var tags = new[]
                {
                    GpuArchitectureMatrix.ImageUri(registry, component.Repository, version, architecture),
                    GpuArchitectureMatrix.ImageUri(registry, component.Repository, gitRevision.ToLowerInvariant(), architecture),
                };
                var package = architecture.LibTorchPackage
                    ?? throw new ArgumentException($"{matrix.Source}: architecture '{architecture.Name}' has no 'libTorchPackage'; images need one.");
                List<KeyValuePair<string, string>> buildArguments =
                [
                    new("BASE_IMAGE", architecture.BaseImage),
                    new("TORCH_BACKEND", architecture.TorchBackend),
                    new("LIBTORCH_PACKAGE", package),
                    new("GPU_ARCH", architecture.Name),
                    new("VERSION", version),
                    new("GIT_REVISION", gitRevision),
                ];
                if (component.Name == "trainer" && architecture.NcclPackage is { } nccl)
                {
                    buildArguments.Add(new("NCCL_PACKAGE", nccl));
                }

                List<KeyValuePair<string, string>> labels =
                [
                    new("org.opencontainers.image.version", version),
                    new("org.opencontainers.image.revision", gitRevision),
                    new("org.opencontainers.image.base.name", architecture.BaseImage),
                ];
                if (source is not null)
                {
                    labels.Add(new("org.opencontainers.image.source", source));
                }

                if (created is { } time)
                {
                    labels.Add(new("org.opencontainers.image.created", time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)));
                }

                labels.Add(new("com.d2.gpu-arch", architecture.Name));
                labels.Add(new("com.d2.torch-backend", architecture.TorchBackend));
                labels.Add(new("com.d2.compute-capabilities", string.Join(',', architecture.ComputeCapabilities)));
                builds.Add(new ImageBuild(architecture, component, tags, buildArguments, labels));
            }
        }

        return new ImagePlan(builds);
    }

    [GeneratedRegex("^[0-9a-fA-F]{7,40}$")]
    private static partial Regex Revision();
}
