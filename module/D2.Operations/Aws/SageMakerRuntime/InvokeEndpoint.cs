namespace D2.Operations.Aws.SageMakerRuntime;

/// <summary>InvokeEndpoint input: the body is sent raw; the other members travel as headers (contracts §1.5).</summary>
public sealed record InvokeEndpointRequest
{
    public required string EndpointName { get; init; }

    /// <summary>Raw payload (≤ 6 MiB), e.g. image bytes.</summary>
    public required ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Content-Type, e.g. image/jpeg.</summary>
    public string? ContentType { get; init; }

    /// <summary>Accept, e.g. application/json.</summary>
    public string? Accept { get; init; }

    /// <summary>X-Amzn-SageMaker-Custom-Attributes, forwarded verbatim to the container.</summary>
    public string? CustomAttributes { get; init; }

    public string? TargetModel { get; init; }

    public string? TargetVariant { get; init; }

    public string? TargetContainerHostname { get; init; }

    public string? InferenceId { get; init; }

    public string? EnableExplanations { get; init; }

    public string? InferenceComponentName { get; init; }

    public string? SessionId { get; init; }
}

/// <summary>InvokeEndpoint output: the container's raw answer and the headers SageMaker relays.</summary>
public sealed record InvokeEndpointResponse
{
    public required byte[] Body { get; init; }

    public string? ContentType { get; init; }

    public string? InvokedProductionVariant { get; init; }

    public string? CustomAttributes { get; init; }

    public string? NewSessionId { get; init; }

    public string? ClosedSessionId { get; init; }

    public string? RequestId { get; init; }
}
