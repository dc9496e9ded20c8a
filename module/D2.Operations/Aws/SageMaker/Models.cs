namespace D2.Operations.Aws.SageMaker;

// CreateModel, DescribeModel, DeleteModel.

/// <summary>The serving image and model.tar.gz a model runs.</summary>
public sealed record ContainerDefinition
{
    public string? ContainerHostname { get; init; }

    public string? Image { get; init; }

    public ContainerMode? Mode { get; init; }

    /// <summary>S3 URI of model.tar.gz, unpacked to /opt/ml/model.</summary>
    public string? ModelDataUrl { get; init; }

    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}

public sealed record CreateModelRequest
{
    public required string ModelName { get; init; }

    public ContainerDefinition? PrimaryContainer { get; init; }

    public IReadOnlyList<ContainerDefinition>? Containers { get; init; }

    public string? ExecutionRoleArn { get; init; }

    public VpcConfig? VpcConfig { get; init; }

    public bool? EnableNetworkIsolation { get; init; }

    public IReadOnlyList<Tag>? Tags { get; init; }
}

public sealed record CreateModelResponse(string ModelArn);

public sealed record DescribeModelRequest(string ModelName);

public sealed record DescribeModelResponse
{
    public string ModelName { get; init; } = "";

    public string ModelArn { get; init; } = "";

    public ContainerDefinition? PrimaryContainer { get; init; }

    public IReadOnlyList<ContainerDefinition>? Containers { get; init; }

    public string? ExecutionRoleArn { get; init; }

    public DateTimeOffset CreationTime { get; init; }

    public bool? EnableNetworkIsolation { get; init; }
}

public sealed record DeleteModelRequest(string ModelName);
