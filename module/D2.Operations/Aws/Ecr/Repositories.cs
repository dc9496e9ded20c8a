using System.Text.Json.Serialization;

namespace D2.Operations.Aws.Ecr;

// CreateRepository, DescribeRepositories (ECR members are camelCase: AwsJson.CamelCase maps the C# names).

public enum ImageTagMutability
{
    Unknown,
    [JsonStringEnumMemberName("MUTABLE")] Mutable,
    [JsonStringEnumMemberName("IMMUTABLE")] Immutable,
    [JsonStringEnumMemberName("IMMUTABLE_WITH_EXCLUSION")] ImmutableWithExclusion,
    [JsonStringEnumMemberName("MUTABLE_WITH_EXCLUSION")] MutableWithExclusion,
}

public enum EncryptionType
{
    Unknown,
    [JsonStringEnumMemberName("AES256")] Aes256,
    [JsonStringEnumMemberName("KMS")] Kms,
    [JsonStringEnumMemberName("KMS_DSSE")] KmsDsse,
}

/// <summary>ECR tags are the one PascalCase structure of the ECR model.</summary>
public sealed record Tag([property: JsonPropertyName("Key")] string Key, [property: JsonPropertyName("Value")] string Value);

public sealed record ImageScanningConfiguration(bool ScanOnPush);

public sealed record EncryptionConfiguration
{
    public EncryptionType EncryptionType { get; init; } = EncryptionType.Aes256;

    public string? KmsKey { get; init; }
}

public sealed record CreateRepositoryRequest
{
    public required string RepositoryName { get; init; }

    public string? RegistryId { get; init; }

    public ImageTagMutability? ImageTagMutability { get; init; }

    public ImageScanningConfiguration? ImageScanningConfiguration { get; init; }

    public EncryptionConfiguration? EncryptionConfiguration { get; init; }

    public IReadOnlyList<Tag>? Tags { get; init; }
}

public sealed record CreateRepositoryResponse(Repository? Repository);

public sealed record Repository
{
    public string RepositoryArn { get; init; } = "";

    public string RegistryId { get; init; } = "";

    public string RepositoryName { get; init; } = "";

    /// <summary>{account}.dkr.ecr.{region}.amazonaws.com/{name}: what images are tagged with.</summary>
    public string RepositoryUri { get; init; } = "";

    public DateTimeOffset? CreatedAt { get; init; }

    public ImageTagMutability? ImageTagMutability { get; init; }

    public ImageScanningConfiguration? ImageScanningConfiguration { get; init; }

    public EncryptionConfiguration? EncryptionConfiguration { get; init; }
}

public sealed record DescribeRepositoriesRequest
{
    public string? RegistryId { get; init; }

    public IReadOnlyList<string>? RepositoryNames { get; init; }

    public string? NextToken { get; init; }

    public int? MaxResults { get; init; }
}

public sealed record DescribeRepositoriesResponse
{
    public IReadOnlyList<Repository> Repositories { get; init; } = [];

    public string? NextToken { get; init; }
}
