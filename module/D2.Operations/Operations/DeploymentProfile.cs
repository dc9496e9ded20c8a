namespace D2.Operations.Operations;

/// <summary>
/// An endpoint to create or update: the model (a training job's artifacts or a model.tar.gz URI), the serving image
/// and the instances. Loadable from a JSON file with these field names in camelCase.
/// </summary>
public sealed record DeploymentProfile
{
    public required string EndpointName { get; init; }

    /// <summary>Execution role of the model (reads model.tar.gz from S3, pulls the image). AWS requires it; the local SageMaker does not.</summary>
    public string? RoleArn { get; init; }

    /// <summary>Deploy this training job's ModelArtifacts (exclusive with <see cref="ModelDataUrl"/>).</summary>
    public string? TrainingJobName { get; init; }

    /// <summary>A model.tar.gz (s3://, https://, or file:// for the local SageMaker).</summary>
    public string? ModelDataUrl { get; init; }

    /// <summary>An explicit serving image; otherwise <see cref="Registry"/>/<see cref="Repository"/>:<see cref="Version"/>-{arch}.</summary>
    public string? Image { get; init; }

    /// <summary>Registry host; null means the caller's ECR registry.</summary>
    public string? Registry { get; init; }

    /// <summary>The serving image repository.</summary>
    public string? Repository { get; init; }

    public string? Version { get; init; }

    /// <summary>e.g. ml.g5.xlarge; also picks the image architecture.</summary>
    public required string InstanceType { get; init; }

    public int InstanceCount { get; init; } = 1;

    /// <summary>How long the container may take to answer /ping (model download and warm-up); null is SageMaker's default.</summary>
    public int? StartupHealthCheckTimeoutInSeconds { get; init; }

    /// <summary>Container environment.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Tags on the model, endpoint config and (new) endpoint.</summary>
    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();

    /// <summary>Recorded as the <c>git-revision</c> tag.</summary>
    public string? GitRevision { get; init; }

    /// <summary>After a successful update, delete the endpoint config it replaced and that config's models.</summary>
    public bool DeletePrevious { get; init; }

    /// <summary>Where the profile came from, for error messages.</summary>
    public string Source { get; init; } = "deployment profile";

    private static readonly string[] Fields =
    [
        "endpointName", "roleArn", "trainingJobName", "modelDataUrl", "image", "registry", "repository", "version", "instanceType",
        "instanceCount", "startupHealthCheckTimeoutInSeconds", "environment", "tags", "gitRevision", "deletePrevious",
    ];

    public static DeploymentProfile Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Parse(File.ReadAllText(path), $"deployment profile '{path}'");
    }

    public static DeploymentProfile Parse(string json, string source = "deployment profile")
    {
        var reader = ProfileReader.Parse(json, source);
        var profile = new DeploymentProfile
        {
            Source = source,
            EndpointName = reader.RequiredString("endpointName"),
            RoleArn = reader.String("roleArn"),
            TrainingJobName = reader.String("trainingJobName"),
            ModelDataUrl = reader.String("modelDataUrl"),
            Image = reader.String("image"),
            Registry = reader.String("registry"),
            Repository = reader.String("repository"),
            Version = reader.String("version"),
            InstanceType = reader.RequiredString("instanceType"),
            InstanceCount = reader.Int("instanceCount") ?? 1,
            StartupHealthCheckTimeoutInSeconds = reader.Int("startupHealthCheckTimeoutInSeconds"),
            Environment = reader.Map("environment"),
            Tags = reader.Map("tags"),
            GitRevision = reader.String("gitRevision"),
            DeletePrevious = reader.Bool("deletePrevious") ?? false,
        };
        reader.RejectUnknown(Fields);
        profile.Validate();
        return profile;
    }

    /// <exception cref="InvalidProfileException">Names the field at fault.</exception>
    public void Validate()
    {
        ProfileChecks.Required(Source, "endpointName", EndpointName);
        ProfileChecks.Required(Source, "instanceType", InstanceType);
        if (ResourceNames.Sanitize(EndpointName) != EndpointName || EndpointName.Length > ResourceNames.MaxLength)
        {
            throw ProfileChecks.Error(Source, "endpointName", $"must be 1-63 letters, digits and inner hyphens (got '{EndpointName}').");
        }

        if (TrainingJobName is null && ModelDataUrl is null)
        {
            throw ProfileChecks.Error(Source, "trainingJobName",
                "or 'modelDataUrl' is required: the model is a training job's artifacts or a model.tar.gz URI.");
        }

        if (TrainingJobName is not null && ModelDataUrl is not null)
        {
            throw ProfileChecks.Error(Source, "modelDataUrl", "excludes 'trainingJobName': give one source for the model.");
        }

        ProfileChecks.StorageUri(Source, "modelDataUrl", ModelDataUrl, allowHttps: true);
        ProfileChecks.Image(Source, Image, Repository, Version);
        ProfileChecks.AtLeast(Source, "instanceCount", InstanceCount, 1);
        ProfileChecks.AtLeast(Source, "startupHealthCheckTimeoutInSeconds", StartupHealthCheckTimeoutInSeconds, 60);
        ProfileChecks.Environment(Source, Environment);
    }
}
