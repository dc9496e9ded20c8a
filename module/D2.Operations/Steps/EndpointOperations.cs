using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Aws.SageMakerRuntime;
using D2.Operations.Matrix;

namespace D2.Operations.Steps;

/// <summary>Deploy (create or update), invoke and delete endpoints: the one implementation behind every front end.</summary>
public sealed class EndpointOperations
{
    /// <summary>The waiters' delay (EndpointInService, EndpointDeleted).</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(30);

    /// <summary>EndpointInService gives up after 120 × 30 s.</summary>
    public static readonly TimeSpan DefaultDeployTimeout = TimeSpan.FromMinutes(60);

    /// <summary>EndpointDeleted gives up after 60 × 30 s.</summary>
    public static readonly TimeSpan DefaultDeleteTimeout = TimeSpan.FromMinutes(30);

    /// <summary>The single variant every deployment creates.</summary>
    public const string VariantName = "AllTraffic";

    private readonly OperationsContext _context;
    private readonly EndpointWaiter _waiter;

    public EndpointOperations(OperationsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _waiter = new EndpointWaiter(context);
    }

    /// <summary>
    /// Creates a model and an endpoint config named <c>{endpoint}-{yyyyMMdd-HHmmss}</c>, then creates the endpoint or,
    /// when it exists, updates it to the new config (blue/green), and waits until it is InService on that config.
    /// </summary>
    /// <exception cref="InvalidProfileException">A field is wrong, or the training job has no model artifacts.</exception>
    /// <exception cref="EndpointFailedException">The endpoint failed, or the update was rolled back.</exception>
    /// <exception cref="TimeoutException">Not InService within <paramref name="timeout"/> (default 60 min).</exception>
    public async Task<DeploymentResult> DeployAsync(
        DeploymentProfile profile,
        IProgress<EndpointProgress>? progress = null,
        TimeSpan? pollInterval = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(profile);
        profile.Validate();
        var name = profile.EndpointName;
        var interval = pollInterval ?? DefaultPollInterval;
        var limit = timeout ?? DefaultDeployTimeout;
        var modelData = await ResolveModelDataAsync(profile, cancellationToken).ConfigureAwait(false);
        var image = await _context.ResolveImageAsync(profile, InstanceTypeUse.Hosting, cancellationToken).ConfigureAwait(false);

        var existing = await SettledEndpointAsync(name, progress, interval, limit, cancellationToken).ConfigureAwait(false);
        var resourceName = ResourceNames.Timestamped(name, _context.TimeProvider.GetUtcNow());
        var tags = TrainingJobRequests.Tags(profile.Tags, profile.GitRevision);
        await _context.SageMaker.CreateModelAsync(new CreateModelRequest
        {
            ModelName = resourceName,
            PrimaryContainer = new ContainerDefinition
            {
                Image = image,
                ModelDataUrl = modelData,
                Environment = profile.Environment.Count > 0 ? profile.Environment : null,
            },
            ExecutionRoleArn = profile.RoleArn,
            Tags = tags,
        }, cancellationToken).ConfigureAwait(false);
        _waiter.Report(progress, name, existing?.EndpointStatus ?? EndpointStatus.Unknown, $"created model {resourceName} ({image}, {modelData})");

        try
        {
            await _context.SageMaker.CreateEndpointConfigAsync(new CreateEndpointConfigRequest
            {
                EndpointConfigName = resourceName,
                ProductionVariants =
                [
                    new ProductionVariant
                    {
                        VariantName = VariantName,
                        ModelName = resourceName,
                        InstanceType = profile.InstanceType,
                        InitialInstanceCount = profile.InstanceCount,
                        InitialVariantWeight = 1,
                        ContainerStartupHealthCheckTimeoutInSeconds = profile.StartupHealthCheckTimeoutInSeconds,
                    },
                ],
                Tags = tags,
            }, cancellationToken).ConfigureAwait(false);
            _waiter.Report(progress, name, existing?.EndpointStatus ?? EndpointStatus.Unknown, $"created endpoint config {resourceName}");

            if (existing is null)
            {
                await _context.SageMaker.CreateEndpointAsync(
                    new CreateEndpointRequest { EndpointName = name, EndpointConfigName = resourceName, Tags = tags }, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _context.SageMaker.UpdateEndpointAsync(
                    new UpdateEndpointRequest { EndpointName = name, EndpointConfigName = resourceName }, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is AwsServiceException or AwsRequestValidationException)
        {
            // Nothing runs on them: do not leave a stray model/config per failed attempt (best effort; the error is what matters).
            try
            {
                await DeleteConfigAndModelsAsync(resourceName, [resourceName], CancellationToken.None).ConfigureAwait(false);
            }
            catch (AwsServiceException)
            {
            }

            throw;
        }

        var endpoint = await _waiter.InServiceAsync(name, resourceName, progress, interval, limit, cancellationToken).ConfigureAwait(false);
        var previous = existing?.EndpointConfigName;
        IReadOnlyList<string> deleted = [];
        if (profile.DeletePrevious && previous is not null && previous != resourceName)
        {
            deleted = await DeleteConfigAndModelsAsync(previous, null, cancellationToken).ConfigureAwait(false);
            _waiter.Report(progress, name, endpoint.EndpointStatus, $"deleted {string.Join(", ", deleted)}");
        }

        return new DeploymentResult(name, resourceName, resourceName, image, modelData, existing is not null, previous, deleted, endpoint);
    }

    /// <summary>Waits (EndpointInService) without deploying, e.g. after a deployment started elsewhere.</summary>
    public Task<DescribeEndpointResponse> WaitForEndpointAsync(
        string endpointName,
        IProgress<EndpointProgress>? progress = null,
        TimeSpan? pollInterval = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(endpointName);
        return _waiter.InServiceAsync(endpointName, null, progress, pollInterval ?? DefaultPollInterval, timeout ?? DefaultDeployTimeout,
            cancellationToken);
    }

    /// <summary>One request to the endpoint (SageMaker Runtime InvokeEndpoint); the container's errors are ModelErrorException.</summary>
    public Task<InvokeEndpointResponse> InvokeAsync(
        string endpointName,
        ReadOnlyMemory<byte> body,
        string contentType,
        string? accept = "application/json",
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(endpointName);
        ArgumentException.ThrowIfNullOrWhiteSpace(contentType);
        return _context.Runtime.InvokeEndpointAsync(
            new InvokeEndpointRequest { EndpointName = endpointName, Body = body, ContentType = contentType, Accept = accept }, cancellationToken);
    }

    /// <summary>
    /// Deletes the endpoint and waits until it is gone (EndpointDeleted); with <paramref name="deleteConfigAndModels"/>
    /// also its endpoint config and that config's models (DeleteEndpoint alone keeps them). A missing endpoint is not an error.
    /// </summary>
    public async Task<EndpointDeletion> DeleteEndpointAsync(
        string endpointName,
        bool deleteConfigAndModels,
        IProgress<EndpointProgress>? progress = null,
        TimeSpan? pollInterval = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(endpointName);
        var endpoint = await DescribeOrNullAsync(endpointName, cancellationToken).ConfigureAwait(false);
        if (endpoint is null)
        {
            _waiter.Report(progress, endpointName, EndpointStatus.Unknown, "no such endpoint");
            return new EndpointDeletion(endpointName, false, null, []);
        }

        if (endpoint.EndpointStatus != EndpointStatus.Deleting)
        {
            try
            {
                await _context.SageMaker.DeleteEndpointAsync(endpointName, cancellationToken).ConfigureAwait(false);
            }
            catch (AwsServiceException e) when (EndpointWaiter.IsNotFound(e))
            {
                // Deleted meanwhile: the wait below sees it gone.
            }
        }

        await _waiter.DeletedAsync(endpointName, endpoint.EndpointStatus == EndpointStatus.Failed, progress,
            pollInterval ?? DefaultPollInterval, timeout ?? DefaultDeleteTimeout, cancellationToken).ConfigureAwait(false);
        List<string> deleted = [$"endpoint {endpointName}"];
        if (deleteConfigAndModels && endpoint.EndpointConfigName is { } config)
        {
            deleted.AddRange(await DeleteConfigAndModelsAsync(config, null, cancellationToken).ConfigureAwait(false));
        }

        return new EndpointDeletion(endpointName, true, endpoint.EndpointConfigName, deleted);
    }

    private async Task<string> ResolveModelDataAsync(DeploymentProfile profile, CancellationToken cancellationToken)
    {
        if (profile.ModelDataUrl is { } url)
        {
            return url;
        }

        var job = await _context.SageMaker.DescribeTrainingJobAsync(profile.TrainingJobName!, cancellationToken).ConfigureAwait(false);
        return job.ModelArtifacts?.S3ModelArtifacts is { Length: > 0 } artifacts
            && job.TrainingJobStatus is TrainingJobStatus.Completed or TrainingJobStatus.Stopped
            ? artifacts
            : throw new InvalidProfileException("trainingJobName",
                $"{profile.Source}: training job {job.TrainingJobName} has no model artifacts to deploy (status {job.TrainingJobStatus}" +
                $"{(job.FailureReason is null ? "" : ": " + job.FailureReason)}).");
    }

    /// <summary>The endpoint as an update can start from: null when it does not exist (or finished deleting);
    /// an endpoint busy creating or updating is waited for; a Failed one cannot be updated.</summary>
    private async Task<DescribeEndpointResponse?> SettledEndpointAsync(
        string name, IProgress<EndpointProgress>? progress, TimeSpan interval, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var endpoint = await DescribeOrNullAsync(name, cancellationToken).ConfigureAwait(false);
        switch (endpoint?.EndpointStatus)
        {
            case null:
                return null;
            case EndpointStatus.Deleting:
                await _waiter.DeletedAsync(name, false, progress, interval, timeout, cancellationToken).ConfigureAwait(false);
                return null;
            case EndpointStatus.Failed:
                throw new EndpointFailedException(name, EndpointStatus.Failed, endpoint.FailureReason,
                    "cannot be updated; delete it (DeleteEndpoint) and deploy again");
            case EndpointStatus.Creating or EndpointStatus.Updating or EndpointStatus.SystemUpdating or EndpointStatus.RollingBack:
                return await _waiter.InServiceAsync(name, null, progress, interval, timeout, cancellationToken).ConfigureAwait(false);
            default:
                return endpoint;
        }
    }

    /// <summary>The endpoint, or null when SageMaker does not know it.</summary>
    internal async Task<DescribeEndpointResponse?> DescribeOrNullAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await _context.SageMaker.DescribeEndpointAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsServiceException e) when (EndpointWaiter.IsNotFound(e))
        {
            return null;
        }
    }

    /// <summary>Deletes an endpoint config and its models (or only <paramref name="models"/> when given); what is already
    /// gone is skipped. Returns what was deleted.</summary>
    internal async Task<IReadOnlyList<string>> DeleteConfigAndModelsAsync(string configName, IReadOnlyList<string>? models, CancellationToken cancellationToken)
    {
        var deleted = new List<string>();
        if (models is null)
        {
            try
            {
                var config = await _context.SageMaker.DescribeEndpointConfigAsync(configName, cancellationToken).ConfigureAwait(false);
                models = [.. config.ProductionVariants.Select(v => v.ModelName).OfType<string>().Distinct(StringComparer.Ordinal)];
            }
            catch (AwsServiceException e) when (EndpointWaiter.IsNotFound(e))
            {
                models = [];
            }
        }

        if (await TryDeleteAsync(() => _context.SageMaker.DeleteEndpointConfigAsync(configName, cancellationToken)).ConfigureAwait(false))
        {
            deleted.Add($"endpoint config {configName}");
        }

        foreach (var model in models)
        {
            if (await TryDeleteAsync(() => _context.SageMaker.DeleteModelAsync(model, cancellationToken)).ConfigureAwait(false))
            {
                deleted.Add($"model {model}");
            }
        }

        return deleted;
    }

    private static async Task<bool> TryDeleteAsync(Func<Task> delete)
    {
        try
        {
            await delete().ConfigureAwait(false);
            return true;
        }
        catch (AwsServiceException e) when (EndpointWaiter.IsNotFound(e))
        {
            return false;
        }
    }
}
