using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>An endpoint ended Failed (or an update was rolled back); <see cref="FailureReason"/> is SageMaker's.</summary>
public sealed class EndpointFailedException(string endpointName, EndpointStatus status, string? failureReason, string what)
    : Exception($"Endpoint {endpointName} {what} ({status}): {(string.IsNullOrWhiteSpace(failureReason) ? "no reason given" : failureReason)}")
{
    public string EndpointName { get; } = endpointName;

    public EndpointStatus Status { get; } = status;

    public string? FailureReason { get; } = failureReason;
}
