namespace D2.Operations.Aws.SageMaker;

// CreateEndpoint, UpdateEndpoint, DescribeEndpoint, DeleteEndpoint, ListEndpoints.

public sealed record CreateEndpointRequest
{
    public required string EndpointName { get; init; }

    public required string EndpointConfigName { get; init; }

    public IReadOnlyList<Tag>? Tags { get; init; }
}

public sealed record CreateEndpointResponse(string EndpointArn);

public sealed record UpdateEndpointRequest
{
    public required string EndpointName { get; init; }

    public required string EndpointConfigName { get; init; }

    public bool? RetainAllVariantProperties { get; init; }

    public bool? RetainDeploymentConfig { get; init; }
}

public sealed record UpdateEndpointResponse(string EndpointArn);

public sealed record DescribeEndpointRequest(string EndpointName);

public sealed record DescribeEndpointResponse
{
    public string EndpointName { get; init; } = "";

    public string EndpointArn { get; init; } = "";

    public string? EndpointConfigName { get; init; }

    public IReadOnlyList<ProductionVariantSummary>? ProductionVariants { get; init; }

    public EndpointStatus EndpointStatus { get; init; }

    public string? FailureReason { get; init; }

    public DateTimeOffset CreationTime { get; init; }

    public DateTimeOffset LastModifiedTime { get; init; }
}

public sealed record ProductionVariantSummary
{
    public string VariantName { get; init; } = "";

    public IReadOnlyList<DeployedImage>? DeployedImages { get; init; }

    public float? CurrentWeight { get; init; }

    public float? DesiredWeight { get; init; }

    public int? CurrentInstanceCount { get; init; }

    public int? DesiredInstanceCount { get; init; }

    public IReadOnlyList<ProductionVariantStatus>? VariantStatus { get; init; }
}

public sealed record DeployedImage
{
    public string? SpecifiedImage { get; init; }

    public string? ResolvedImage { get; init; }

    public DateTimeOffset? ResolutionTime { get; init; }
}

public sealed record ProductionVariantStatus
{
    /// <summary>Creating, Updating, Deleting, ActivatingTraffic, Baking (kept as a string: a small, growing set).</summary>
    public string Status { get; init; } = "";

    public string? StatusMessage { get; init; }

    public DateTimeOffset? StartTime { get; init; }
}

public sealed record DeleteEndpointRequest(string EndpointName);

public sealed record ListEndpointsRequest
{
    public ListSortBy? SortBy { get; init; }

    public SortOrder? SortOrder { get; init; }

    public string? NextToken { get; init; }

    public int? MaxResults { get; init; }

    public string? NameContains { get; init; }

    public DateTimeOffset? CreationTimeBefore { get; init; }

    public DateTimeOffset? CreationTimeAfter { get; init; }

    public EndpointStatus? StatusEquals { get; init; }
}

public sealed record ListEndpointsResponse
{
    public IReadOnlyList<EndpointSummary> Endpoints { get; init; } = [];

    public string? NextToken { get; init; }
}

public sealed record EndpointSummary
{
    public string EndpointName { get; init; } = "";

    public string EndpointArn { get; init; } = "";

    public DateTimeOffset CreationTime { get; init; }

    public DateTimeOffset LastModifiedTime { get; init; }

    public EndpointStatus EndpointStatus { get; init; }
}
