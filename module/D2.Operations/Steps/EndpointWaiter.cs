using D2.Operations.Aws;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>
/// SageMaker's EndpointInService and EndpointDeleted waiters (sagemaker.waiters.json) with progress: status changes
/// are reported once, a timeout names the endpoint and its last status, and the token cancels the wait only.
/// </summary>
internal sealed class EndpointWaiter(OperationsContext context)
{
    /// <summary>EndpointInService: InService succeeds; Failed (or UpdateRollbackFailed) fails; a missing endpoint's
    /// ValidationException propagates. With <paramref name="expectedConfig"/>, InService counts only once the endpoint
    /// runs that config: InService on the old config with a FailureReason is a rolled-back update.</summary>
    public async Task<DescribeEndpointResponse> InServiceAsync(
        string endpointName, string? expectedConfig, IProgress<EndpointProgress>? progress, TimeSpan interval, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var deadline = context.TimeProvider.GetUtcNow() + timeout;
        EndpointStatus? last = null;
        while (true)
        {
            var endpoint = await context.SageMaker.DescribeEndpointAsync(endpointName, cancellationToken).ConfigureAwait(false);
            if (endpoint.EndpointStatus != last)
            {
                Report(progress, endpointName, endpoint.EndpointStatus, endpoint.FailureReason);
                last = endpoint.EndpointStatus;
            }

            switch (endpoint.EndpointStatus)
            {
                case EndpointStatus.InService when expectedConfig is null || endpoint.EndpointConfigName == expectedConfig:
                    return endpoint;
                case EndpointStatus.InService when !string.IsNullOrWhiteSpace(endpoint.FailureReason):
                    throw new EndpointFailedException(endpointName, endpoint.EndpointStatus, endpoint.FailureReason,
                        $"update to {expectedConfig} was rolled back to {endpoint.EndpointConfigName}");
                case EndpointStatus.Failed or EndpointStatus.UpdateRollbackFailed:
                    throw new EndpointFailedException(endpointName, endpoint.EndpointStatus, endpoint.FailureReason, "failed");
            }

            await DelayAsync(endpointName, endpoint.EndpointStatus, "InService", deadline, timeout, interval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>EndpointDeleted: the "Could not find endpoint" ValidationException is success; turning Failed is failure
    /// (an endpoint that was already Failed before the delete may read Failed for a moment, so that is waited out).</summary>
    public async Task DeletedAsync(
        string endpointName, bool wasFailed, IProgress<EndpointProgress>? progress, TimeSpan interval, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var deadline = context.TimeProvider.GetUtcNow() + timeout;
        EndpointStatus? last = null;
        while (true)
        {
            DescribeEndpointResponse endpoint;
            try
            {
                endpoint = await context.SageMaker.DescribeEndpointAsync(endpointName, cancellationToken).ConfigureAwait(false);
            }
            catch (AwsServiceException e) when (IsNotFound(e))
            {
                Report(progress, endpointName, EndpointStatus.Unknown, "deleted");
                return;
            }

            if (endpoint.EndpointStatus != last)
            {
                Report(progress, endpointName, endpoint.EndpointStatus, endpoint.FailureReason);
                last = endpoint.EndpointStatus;
            }

            if (endpoint.EndpointStatus == EndpointStatus.Failed && !wasFailed)
            {
                throw new EndpointFailedException(endpointName, endpoint.EndpointStatus, endpoint.FailureReason, "failed while being deleted");
            }

            await DelayAsync(endpointName, endpoint.EndpointStatus, "deleted", deadline, timeout, interval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>How SageMaker answers for a model, config or endpoint that does not exist: ValidationException
    /// "Could not find ..." (ResourceNotFound for other resources).</summary>
    public static bool IsNotFound(AwsServiceException error) =>
        error is ResourceNotFoundException
        || error is ServiceValidationException && error.ErrorMessage.Contains("Could not find", StringComparison.OrdinalIgnoreCase);

    public void Report(IProgress<EndpointProgress>? progress, string endpointName, EndpointStatus status, string? message) =>
        progress?.Report(new EndpointProgress(endpointName, status, message, context.TimeProvider.GetUtcNow()));

    private async Task DelayAsync(string endpointName, EndpointStatus status, string goal, DateTimeOffset deadline, TimeSpan timeout,
        TimeSpan interval, CancellationToken cancellationToken)
    {
        var remaining = deadline - context.TimeProvider.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            throw new TimeoutException($"Endpoint {endpointName} is still {status} after waiting {timeout} for it to be {goal}; SageMaker may still get there.");
        }

        await Task.Delay(remaining < interval ? remaining : interval, context.TimeProvider, cancellationToken).ConfigureAwait(false);
    }
}
