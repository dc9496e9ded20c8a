namespace D2.Operations.Aws.SageMaker;

// CreateEndpointConfig, DescribeEndpointConfig, DeleteEndpointConfig.

/// <summary>One model behind an endpoint, with its instances and traffic weight.</summary>
public sealed record ProductionVariant
{
    public required string VariantName { get; init; }

    public string? ModelName { get; init; }

    public int? InitialInstanceCount { get; init; }

    /// <summary>e.g. ml.g5.xlarge.</summary>
    public string? InstanceType { get; init; }

    public float? InitialVariantWeight { get; init; }

    public int? VolumeSizeInGB { get; init; }

    public int? ModelDataDownloadTimeoutInSeconds { get; init; }

    public int? ContainerStartupHealthCheckTimeoutInSeconds { get; init; }
}

public sealed record CreateEndpointConfigRequest
{
    public required string EndpointConfigName { get; init; }

    public required IReadOnlyList<ProductionVariant> ProductionVariants { get; init; }

    public string? KmsKeyId { get; init; }

    public IReadOnlyList<Tag>? Tags { get; init; }
}

public sealed record CreateEndpointConfigResponse(string EndpointConfigArn);

public sealed record DescribeEndpointConfigRequest(string EndpointConfigName);

public sealed record DescribeEndpointConfigResponse
{
    public string EndpointConfigName { get; init; } = "";

    public string EndpointConfigArn { get; init; } = "";

    public IReadOnlyList<ProductionVariant> ProductionVariants { get; init; } = [];

    public string? KmsKeyId { get; init; }

    public DateTimeOffset CreationTime { get; init; }
}

public sealed record DeleteEndpointConfigRequest(string EndpointConfigName);
