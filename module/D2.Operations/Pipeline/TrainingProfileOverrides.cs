using D2.Operations.Operations;

namespace D2.Operations.Pipeline;

/// <summary>What a front end may override on a training profile (the workflow's inputs), applied in one place.</summary>
public static class TrainingProfileOverrides
{
    /// <param name="configFile">A model-zoo config name (the config-file hyperparameter).</param>
    /// <param name="instanceType">e.g. ml.g5.2xlarge.</param>
    /// <param name="spot">Managed spot training on or off.</param>
    /// <returns>The profile with the overrides, validated again.</returns>
    public static TrainingProfile Apply(TrainingProfile profile, string? configFile = null, string? instanceType = null, bool? spot = null)
    {
        ArgumentNullException.ThrowIfNull(profile);
        var result = profile;
        if (!string.IsNullOrWhiteSpace(configFile))
            result = result with
            {
                HyperParameters = new Dictionary<string, string>(result.HyperParameters, StringComparer.Ordinal)
                {
                    [TrainerHyperParameters.ConfigFile] = configFile,
                },
            };
        if (!string.IsNullOrWhiteSpace(instanceType))
            result = result with { InstanceType = instanceType };
        if (spot is { } useSpot)
            result = result with { Spot = useSpot };
        result.Validate();
        return result;
    }
}
