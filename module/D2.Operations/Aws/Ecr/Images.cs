namespace D2.Operations.Aws.Ecr;

// DescribeImages.

/// <summary>An image by tag or by digest (sha256:...).</summary>
public sealed record ImageIdentifier
{
    public string? ImageDigest { get; init; }

    public string? ImageTag { get; init; }
}

public sealed record DescribeImagesRequest
{
    public required string RepositoryName { get; init; }

    public string? RegistryId { get; init; }

    public IReadOnlyList<ImageIdentifier>? ImageIds { get; init; }

    public string? NextToken { get; init; }

    public int? MaxResults { get; init; }
}

public sealed record DescribeImagesResponse
{
    public IReadOnlyList<ImageDetail> ImageDetails { get; init; } = [];

    public string? NextToken { get; init; }
}

public sealed record ImageDetail
{
    public string? RegistryId { get; init; }

    public string? RepositoryName { get; init; }

    public string? ImageDigest { get; init; }

    public IReadOnlyList<string>? ImageTags { get; init; }

    public long? ImageSizeInBytes { get; init; }

    public DateTimeOffset? ImagePushedAt { get; init; }

    public string? ImageManifestMediaType { get; init; }
}
