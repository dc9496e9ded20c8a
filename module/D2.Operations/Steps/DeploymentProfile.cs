using System.Text.Json.Serialization;

namespace D2.Operations.Steps;

/// <summary>
/// An endpoint to create or update: the model (a training job's artifacts or a model.tar.gz URI), the serving image
/// and the instances. Loadable from a JSON file with these field names in camelCase.
/// </summary>
public sealed record DeploymentProfile : ContainerProfile
{
    public DeploymentProfile()
        : base("deployment profile")
    {
    }

    public required string EndpointName { get; init; }

    /// <summary>Execution role of the model (reads model.tar.gz from S3, pulls the image). AWS requires it; the local SageMaker does not.</summary>
    public string? RoleArn { get; init; }

    /// <summary>Deploy this training job's ModelArtifacts (exclusive with <see cref="ModelDataUrl"/>).</summary>
    public string? TrainingJobName { get; init; }

    /// <summary>A model.tar.gz (s3://, https://, or file:// for the local SageMaker).</summary>
    public string? ModelDataUrl { get; init; }

    /// <summary>How long the container may take to answer /ping (model download and warm-up); null is SageMaker's default.</summary>
    public int? StartupHealthCheckTimeoutInSeconds { get; init; }

    /// <summary>After a successful update, delete the endpoint config it replaced and that config's models.</summary>
    public bool DeletePrevious { get; init; }

    public static DeploymentProfile Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Parse(File.ReadAllText(path), $"deployment profile '{path}'");
    }

    public static DeploymentProfile Parse(string json, string source = "deployment profile")
    {
        var profile = ProfileJson.Read<DeploymentProfile>(json, source) with { Source = source };
        profile.Validate();
        return profile;
    }

    /// <exception cref="InvalidProfileException">Names the field at fault.</exception>
    public void Validate()
    {
        ProfileChecks.Required(Source, "endpointName", EndpointName);
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
        ValidateContainer();
        ProfileChecks.AtLeast(Source, "startupHealthCheckTimeoutInSeconds", StartupHealthCheckTimeoutInSeconds, 60);
    }
}
