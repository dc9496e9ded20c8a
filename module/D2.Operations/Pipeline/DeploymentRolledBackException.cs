namespace D2.Operations.Pipeline;

/// <summary>A deployment or its smoke test failed and the endpoint was put back: on its previous endpoint config, or
/// deleted when the deployment had created it.</summary>
public sealed class DeploymentRolledBackException(string endpointName, string cause, string rollback, Exception? inner = null)
    : Exception($"Deployment of endpoint {endpointName} failed: {cause}. Rolled back: {rollback}.", inner)
{
    public string EndpointName { get; } = endpointName;

    /// <summary>Why the deployment was refused (the deploy error or what was wrong with the smoke answer).</summary>
    public string Cause { get; } = cause;

    /// <summary>What the rollback did.</summary>
    public string Rollback { get; } = rollback;
}
