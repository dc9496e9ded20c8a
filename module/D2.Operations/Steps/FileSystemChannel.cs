using System.Text.RegularExpressions;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>
/// A training channel mounted from a file system instead of copied from S3: SageMaker's <c>FileSystemDataSource</c>
/// (EFS or FSx for Lustre). In a profile it is the channel's value as an object:
/// <c>"training": {"fileSystemId": "fs-0123456789abcdef0", "fileSystemType": "FSxLustre", "directoryPath":
/// "/abcdefgh/datasets", "fileSystemAccessMode": "ro"}</c> (access mode defaults to <c>ro</c>: training reads its data).
/// The job then needs the profile's <c>vpcConfig</c>, through which the instances reach the file system.
/// </summary>
public sealed partial record FileSystemChannel
{
    public required string FileSystemId { get; init; }

    public required FileSystemType FileSystemType { get; init; }

    /// <summary>The directory in the file system; for FSx for Lustre it starts with the file system's mount name.</summary>
    public required string DirectoryPath { get; init; }

    public FileSystemAccessMode FileSystemAccessMode { get; init; } = FileSystemAccessMode.ReadOnly;

    /// <summary>What CreateTrainingJob's model requires of a FileSystemDataSource, checked with the profile's field names.</summary>
    /// <param name="field">the channel's field, <c>channels.{name}</c></param>
    internal void Validate(string source, string field)
    {
        ProfileChecks.Required(source, $"{field}.fileSystemId", FileSystemId);
        if (FileSystemId.Length is < 11 or > 21 || !FileSystemIdPattern().IsMatch(FileSystemId))
        {
            throw ProfileChecks.Error(source, $"{field}.fileSystemId", $"must be a file system id such as fs-0123456789abcdef0 ('fs-' and 8 to 18 lowercase hex digits; got '{FileSystemId}').");
        }

        OneOf(source, $"{field}.fileSystemType", FileSystemType);
        OneOf(source, $"{field}.fileSystemAccessMode", FileSystemAccessMode);

        ProfileChecks.Required(source, $"{field}.directoryPath", DirectoryPath);
        if (!DirectoryPath.StartsWith('/') || DirectoryPath.Length > 4096)
        {
            throw ProfileChecks.Error(source, $"{field}.directoryPath", $"must be an absolute path in the file system of at most 4096 characters (got '{DirectoryPath}').");
        }

        // An FSx for Lustre path is /<mount name>/...; the bare root has no mount name.
        if (FileSystemType == FileSystemType.FSxLustre && DirectoryPath.Trim('/').Length == 0)
        {
            throw ProfileChecks.Error(source, $"{field}.directoryPath", "must start with the FSx for Lustre file system's mount name (/<mount name>/path).");
        }
    }

    /// <summary>The channel's DataSource as CreateTrainingJob sends it.</summary>
    public DataSource ToDataSource() => new()
    {
        FileSystemDataSource = new FileSystemDataSource
        {
            FileSystemId = FileSystemId,
            FileSystemAccessMode = FileSystemAccessMode,
            FileSystemType = FileSystemType,
            DirectoryPath = DirectoryPath,
        },
    };

    /// <summary>A value set in code is one of the wire values (not the client's <c>Unknown</c>).</summary>
    private static void OneOf<T>(string source, string field, T value)
        where T : struct, Enum
    {
        var values = ProfileValueConverters.WireValues<T>();
        if (!values.Any(v => v.Value.Equals(value)))
        {
            throw ProfileChecks.Error(source, field, $"must be one of {string.Join(", ", values.Select(v => v.Wire))}.");
        }
    }

    [GeneratedRegex("^fs-[0-9a-f]{8,}$")]
    private static partial Regex FileSystemIdPattern();
}
