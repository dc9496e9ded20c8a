using System.Text.Json.Serialization;

namespace D2.Operations.Steps;

/// <summary>
/// What the training and deployment profiles share: the container image, given as is or chosen as
/// <c>{registry}/{repository}:{version}-{arch}</c> with the arch <c>build/gpu-archs.json</c> assigns to the instance type,
/// the instances it runs on, its environment and the tags on what is created.
/// </summary>
public abstract record ContainerProfile
{
    protected ContainerProfile(string source)
    {
        Source = source;
    }

    /// <summary>An explicit image; otherwise <see cref="Registry"/>/<see cref="Repository"/>:<see cref="Version"/>-{arch}.</summary>
    public string? Image { get; init; }

    /// <summary>Registry host; null means the caller's ECR registry ({account}.dkr.ecr.{region}.amazonaws.com).</summary>
    public string? Registry { get; init; }

    /// <summary>The image repository (d2-trainer, d2-serving).</summary>
    public string? Repository { get; init; }

    public string? Version { get; init; }

    /// <summary>e.g. ml.g5.2xlarge; also picks the image architecture from build/gpu-archs.json.</summary>
    public required string InstanceType { get; init; }

    public int InstanceCount { get; init; } = 1;

    /// <summary>The container's environment.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Tags on what is created (the training job; the model, endpoint config and new endpoint).</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();

    /// <summary>Recorded as the <c>git-revision</c> tag.</summary>
    public string? GitRevision { get; init; }

    /// <summary>Where the profile came from, for error messages (a file path, or "training profile").</summary>
    [JsonIgnore]
    public string Source { get; init; }

    /// <summary>Checks the shared part; each error names the field.</summary>
    /// <exception cref="InvalidProfileException">Names the field at fault.</exception>
    protected void ValidateContainer()
    {
        ProfileChecks.Required(Source, "instanceType", InstanceType);
        ProfileChecks.Image(Source, Image, Repository, Version);
        ProfileChecks.AtLeast(Source, "instanceCount", InstanceCount, 1);
        ProfileChecks.Environment(Source, Environment);
    }
}
