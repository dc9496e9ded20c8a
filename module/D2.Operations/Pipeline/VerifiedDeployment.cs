using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;

namespace D2.Operations.Pipeline;

/// <summary>
/// Deploy, then prove it: wait InService, smoke-invoke with one image and check the inference response's shape; when
/// either fails, put the endpoint back on the endpoint config it had before (UpdateEndpoint), or delete it when this
/// deployment created it, remove the failed deployment's model and config, and throw
/// <see cref="DeploymentRolledBackException"/> naming the cause.
/// </summary>
public sealed class VerifiedDeployment(OperationsContext context)
{
    /// <summary>A deployment that passed its smoke test.</summary>
    public sealed record Result(DeploymentResult Deployment, int Detections, IReadOnlyList<string> DeletedPrevious);

    /// <param name="profile">The deployment; its DeletePrevious is honoured only after the smoke test passed.</param>
    /// <param name="smokeImage">JPEG or PNG bytes; null uses <see cref="SmokeCheck.DefaultImage"/>.</param>
    public async Task<Result> DeployAsync(
        DeploymentProfile profile,
        byte[]? smokeImage = null,
        IProgress<EndpointProgress>? progress = null,
        TimeSpan? pollInterval = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        profile.Validate();
        var image = smokeImage ?? SmokeCheck.DefaultImage();
        var contentType = SmokeCheck.ContentTypeOf(image);
        var interval = pollInterval ?? EndpointOperations.DefaultPollInterval;
        var limit = timeout ?? EndpointOperations.DefaultDeployTimeout;
        var waiter = new EndpointWaiter(context);
        var before = await context.Endpoints.DescribeOrNullAsync(profile.EndpointName, cancellationToken).ConfigureAwait(false);
        var previousConfig = before?.EndpointStatus is EndpointStatus.InService or EndpointStatus.Updating or EndpointStatus.Creating
            ? before.EndpointConfigName : null;

        DeploymentResult deployed;
        try
        {
            // The previous config must survive until the smoke test passed: it is what a rollback goes back to.
            deployed = await context.Endpoints.DeployAsync(profile with { DeletePrevious = false }, progress, interval, limit, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is EndpointFailedException or TimeoutException)
        {
            var rollback = await RollBackAsync(profile.EndpointName, previousConfig, null, waiter, progress, interval, limit).ConfigureAwait(false);
            throw new DeploymentRolledBackException(profile.EndpointName, e.Message, rollback, e);
        }

        var problem = await SmokeAsync(profile.EndpointName, image, contentType, cancellationToken).ConfigureAwait(false);
        if (problem.Error is { } error)
        {
            waiter.Report(progress, profile.EndpointName, deployed.Endpoint.EndpointStatus, $"smoke test failed: {error}");
            var rollback = await RollBackAsync(profile.EndpointName, previousConfig, deployed.EndpointConfigName, waiter, progress, interval, limit)
                .ConfigureAwait(false);
            throw new DeploymentRolledBackException(profile.EndpointName, $"smoke test failed: {error}", rollback);
        }
        waiter.Report(progress, profile.EndpointName, deployed.Endpoint.EndpointStatus, $"smoke test passed ({problem.Detections} detections)");

        IReadOnlyList<string> deleted = [];
        if (profile.DeletePrevious && previousConfig is not null && previousConfig != deployed.EndpointConfigName)
            deleted = await context.Endpoints.DeleteConfigAndModelsAsync(previousConfig, null, cancellationToken).ConfigureAwait(false);
        return new Result(deployed, problem.Detections, deleted);
    }

    private async Task<(string? Error, int Detections)> SmokeAsync(string endpoint, byte[] image, string contentType, CancellationToken cancellationToken)
    {
        byte[] body;
        try
        {
            var response = await context.Endpoints.InvokeAsync(endpoint, image, contentType, "application/json", cancellationToken).ConfigureAwait(false);
            body = response.Body.ToArray();
        }
        catch (AwsServiceException e)
        {
            return ($"InvokeEndpoint answered {e.ErrorCode}: {e.ErrorMessage}", 0);
        }
        if (SmokeCheck.Problem(body) is { } problem)
            return (problem, 0);
        using var document = System.Text.Json.JsonDocument.Parse(body);
        return (null, document.RootElement.GetProperty("scores").GetArrayLength());
    }

    /// <summary>Back to <paramref name="previousConfig"/>, or the endpoint deleted when there was none; then the failed
    /// deployment's config and models removed. Runs to the end even when the caller cancels (a half rollback is worse).</summary>
    private async Task<string> RollBackAsync(string endpoint, string? previousConfig, string? failedConfig, EndpointWaiter waiter,
        IProgress<EndpointProgress>? progress, TimeSpan interval, TimeSpan limit)
    {
        var none = CancellationToken.None;
        var current = await context.Endpoints.DescribeOrNullAsync(endpoint, none).ConfigureAwait(false);
        failedConfig ??= current?.EndpointConfigName != previousConfig ? current?.EndpointConfigName : null;
        string done;
        if (previousConfig is null)
        {
            var deletion = await context.Endpoints.DeleteEndpointAsync(endpoint, deleteConfigAndModels: false, progress, interval, limit, none)
                .ConfigureAwait(false);
            done = deletion.Existed ? $"deleted endpoint {endpoint}, which this deployment had created" : $"endpoint {endpoint} did not exist";
        }
        else
        {
            // SageMaker itself rolls a failed update back (the endpoint reads InService on the old config): wait for it to settle first.
            if (current?.EndpointStatus is EndpointStatus.Updating or EndpointStatus.Creating or EndpointStatus.RollingBack or EndpointStatus.SystemUpdating)
            {
                try
                {
                    current = await waiter.InServiceAsync(endpoint, null, progress, interval, limit, none).ConfigureAwait(false);
                }
                catch (EndpointFailedException)
                {
                    current = await context.Endpoints.DescribeOrNullAsync(endpoint, none).ConfigureAwait(false);
                }
            }
            if (current?.EndpointConfigName == previousConfig && current.EndpointStatus == EndpointStatus.InService)
            {
                done = $"endpoint {endpoint} is InService on its previous endpoint config {previousConfig}";
            }
            else
            {
                waiter.Report(progress, endpoint, current?.EndpointStatus ?? EndpointStatus.Unknown, $"rolling back to endpoint config {previousConfig}");
                await context.SageMaker.UpdateEndpointAsync(new UpdateEndpointRequest { EndpointName = endpoint, EndpointConfigName = previousConfig }, none)
                    .ConfigureAwait(false);
                await waiter.InServiceAsync(endpoint, previousConfig, progress, interval, limit, none).ConfigureAwait(false);
                done = $"endpoint {endpoint} updated back to its previous endpoint config {previousConfig}";
            }
        }
        if (failedConfig is not null && failedConfig != previousConfig)
        {
            var removed = await context.Endpoints.DeleteConfigAndModelsAsync(failedConfig, null, none).ConfigureAwait(false);
            if (removed.Count > 0)
                done += $"; removed {string.Join(", ", removed)}";
        }
        waiter.Report(progress, endpoint, EndpointStatus.Unknown, "rolled back: " + done);
        return done;
    }
}
