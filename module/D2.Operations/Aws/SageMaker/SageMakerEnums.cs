using System.Text.Json.Serialization;

namespace D2.Operations.Aws.SageMaker;

// SageMaker string enums (wire value = member name). Zero members are "Unknown": values AWS adds later read as that.

// TrainingJobStatus, SecondaryStatus and EndpointStatus are the container contract's (D2.SageMaker.Contract/SageMakerStatuses.cs).

public enum TrainingInputMode { Unknown, Pipe, File, FastFile }

public enum S3DataType { Unknown, ManifestFile, S3Prefix, AugmentedManifestFile, Converse }

public enum S3DataDistribution { Unknown, FullyReplicated, ShardedByS3Key }

public enum CompressionType { Unknown, None, Gzip }

public enum FileSystemType { Unknown, EFS, FSxLustre }

/// <summary>The wire values are <c>ro</c> and <c>rw</c>.</summary>
public enum FileSystemAccessMode
{
    Unknown,
    [JsonStringEnumMemberName("ro")] ReadOnly,
    [JsonStringEnumMemberName("rw")] ReadWrite,
}

public enum SortOrder { Unknown, Ascending, Descending }

/// <summary>Sort keys of ListTrainingJobs and ListEndpoints (same values).</summary>
public enum ListSortBy { Unknown, Name, CreationTime, Status }

public enum ContainerMode { Unknown, SingleModel, MultiModel }
