using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>One step of a deployment or deletion, or an endpoint status change seen while waiting.</summary>
/// <param name="EndpointName">The endpoint.</param>
/// <param name="Status">Its status when reported (Unknown for steps taken before the endpoint is asked).</param>
/// <param name="Message">What happened (created model X, ...) or SageMaker's FailureReason.</param>
/// <param name="Time">When it was seen.</param>
public sealed record EndpointProgress(string EndpointName, EndpointStatus Status, string? Message, DateTimeOffset Time)
{
    /// <summary>"name: Status - message", or "name: message" for a step that has no status (Unknown).</summary>
    public override string ToString() => Status == EndpointStatus.Unknown && !string.IsNullOrEmpty(Message)
        ? $"{EndpointName}: {Message}"
        : $"{EndpointName}: {Status}{(string.IsNullOrEmpty(Message) ? "" : " - " + Message)}";
}
