namespace D2.Operations.Steps;

/// <summary>
/// Deployment settings given one by one (cmdlet parameters, build options) over a deployment profile, or a whole profile
/// for the local SageMaker. Null means "keep the profile's value". The one place the local defaults live, so
/// Deploy-D2Model and the Deploy target deploy the same thing from the same input.
/// </summary>
public sealed record DeploymentProfileOverrides
{
    /// <summary>The serving image the local SageMaker runs when none is given.</summary>
    public const string LocalImage = "d2-serving:local-cpu";

    /// <summary>The endpoint name the local SageMaker uses when neither a profile nor a parameter names one.</summary>
    public const string LocalEndpointName = "d2-local";

    public string? EndpointName { get; init; }

    /// <summary>Deploy this training job's artifacts; replaces the profile's model source.</summary>
    public string? TrainingJobName { get; init; }

    /// <summary>Deploy this model.tar.gz; replaces the profile's model source. With the local SageMaker a path becomes file://.</summary>
    public string? ModelDataUrl { get; init; }
    public string? InstanceType { get; init; }
    public int? InstanceCount { get; init; }
    public string? Image { get; init; }
    public string? RoleArn { get; init; }
    public bool? DeletePrevious { get; init; }

    /// <summary>
    /// The profile to deploy: <paramref name="profile"/> (or, without one, a new profile) with these values on top; a model
    /// given here replaces the profile's (job or URL). <paramref name="local"/> fills the image, instance type and endpoint
    /// name the local SageMaker needs. Validated; errors name the field.
    /// </summary>
    public DeploymentProfile Apply(DeploymentProfile? profile, bool local)
    {
        var modelGiven = TrainingJobName is not null || ModelDataUrl is not null;
        var result = (profile ?? new DeploymentProfile { EndpointName = "", InstanceType = "", Source = "parameters" }) with
        {
            EndpointName = EndpointName ?? NonEmpty(profile?.EndpointName) ?? (local ? LocalEndpointName : ""),
            TrainingJobName = modelGiven ? (ModelDataUrl is null ? TrainingJobName : null) : profile?.TrainingJobName,
            ModelDataUrl = modelGiven ? LocalLocation.Uri(ModelDataUrl, local) : profile?.ModelDataUrl,
            InstanceType = InstanceType ?? NonEmpty(profile?.InstanceType) ?? (local ? "ml.m5.xlarge" : ""),
            InstanceCount = InstanceCount ?? profile?.InstanceCount ?? 1,
            Image = Image ?? profile?.Image ?? (local && profile?.Repository is null ? LocalImage : null),
            RoleArn = RoleArn ?? profile?.RoleArn,
            DeletePrevious = DeletePrevious ?? profile?.DeletePrevious ?? false,
        };
        result.Validate();
        return result;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
