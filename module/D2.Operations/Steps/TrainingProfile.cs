using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>
/// Everything a training job needs, in the form operators write it (a JSON file with these field names in camelCase,
/// or built in code). <see cref="TrainingOperations.StartTrainingAsync"/> turns it into a CreateTrainingJob request.
/// </summary>
public sealed partial record TrainingProfile : ContainerProfile
{
    public TrainingProfile()
        : base("training profile")
    {
    }

    /// <summary>Job names are <c>{prefix}-{yyyyMMdd-HHmmss}</c> (UTC).</summary>
    public required string JobNamePrefix { get; init; }

    /// <summary>The execution role SageMaker assumes (S3, ECR, CloudWatch Logs).</summary>
    public required string RoleArn { get; init; }

    public int VolumeSizeInGB { get; init; } = 50;

    public int MaxRuntimeInSeconds { get; init; } = 86400;

    /// <summary>Managed spot training; needs <see cref="CheckpointUri"/> so an interrupted job resumes.</summary>
    public bool Spot { get; init; }

    /// <summary>Spot only: runtime plus time waiting for capacity, at least <see cref="MaxRuntimeInSeconds"/>
    /// (default twice the runtime).</summary>
    public int? MaxWaitTimeInSeconds { get; init; }

    /// <summary>Passed as is (strings), e.g. config-file, opts; see <see cref="TrainerHyperParameters"/>.</summary>
    public IReadOnlyDictionary<string, string> HyperParameters { get; init; } = new Dictionary<string, string>();

    /// <summary>Channel name (training, validation, ...) → s3:// prefix (file:// for the local SageMaker).</summary>
    [JsonIgnore]
    public IReadOnlyDictionary<string, string> Channels { get; init; } = new Dictionary<string, string>();

    /// <summary>Channels mounted from EFS or FSx for Lustre (in the file: a channel whose value is an object); need <see cref="VpcConfig"/>.</summary>
    [JsonIgnore]
    public IReadOnlyDictionary<string, FileSystemChannel> FileSystemChannels { get; init; } = new Dictionary<string, FileSystemChannel>();

    /// <summary>The file's <c>channels</c>: both kinds in one object.</summary>
    [JsonInclude]
    [JsonPropertyName("channels")]
    private TrainingChannels ChannelsInFile
    {
        get => new(Channels, FileSystemChannels);
        init => (Channels, FileSystemChannels) = (value.Locations, value.FileSystems);
    }

    /// <summary>The job's subnets and security groups (<c>{"securityGroupIds": [...], "subnets": [...]}</c>); required by file-system channels.</summary>
    public VpcConfig? VpcConfig { get; init; }

    /// <summary>S3 prefix for model.tar.gz ({outputPath}/{job}/output/model.tar.gz).</summary>
    public required string OutputPath { get; init; }

    /// <summary>S3 prefix synced with /opt/ml/checkpoints (resume after interruption).</summary>
    public string? CheckpointUri { get; init; }

    /// <summary>
    /// Reads a profile file; errors name the file and the field. Relative <c>file:</c> locations (<c>file:data/train</c>,
    /// for the local SageMaker) are taken relative to the profile's folder, so a profile in the repository works from any
    /// working directory.
    /// </summary>
    public static TrainingProfile Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Parse(File.ReadAllText(path), $"training profile '{path}'", Path.GetDirectoryName(Path.GetFullPath(path)));
    }

    /// <summary>Parses profile JSON and validates it (<see cref="Validate"/>).</summary>
    /// <param name="relativeTo">the folder that relative <c>file:</c> locations are resolved against (null: not allowed)</param>
    public static TrainingProfile Parse(string json, string source = "training profile", string? relativeTo = null)
    {
        var read = ProfileJson.Read<TrainingProfile>(json, source);
        string? Location(string? value) => RelativeFileUri.Resolve(value, relativeTo);
        var profile = read with
        {
            Source = source,
            Channels = read.Channels.ToDictionary(c => c.Key, c => Location(c.Value)!, StringComparer.Ordinal),
            OutputPath = Location(read.OutputPath)!,
            CheckpointUri = Location(read.CheckpointUri),
        };
        profile.Validate();
        return profile;
    }

    /// <summary>Checks what SageMaker would refuse (or what would waste a spot job) before anything is sent.</summary>
    /// <exception cref="InvalidProfileException">Names the field at fault.</exception>
    public void Validate()
    {
        ProfileChecks.Required(Source, "jobNamePrefix", JobNamePrefix);
        ProfileChecks.Required(Source, "roleArn", RoleArn);
        ProfileChecks.Required(Source, "outputPath", OutputPath);
        ValidateContainer();
        ProfileChecks.AtLeast(Source, "volumeSizeInGB", VolumeSizeInGB, 1);
        ProfileChecks.AtLeast(Source, "maxRuntimeInSeconds", MaxRuntimeInSeconds, 1);
        ProfileChecks.StorageUri(Source, "outputPath", OutputPath);
        ProfileChecks.StorageUri(Source, "checkpointUri", CheckpointUri);
        if (ResourceNames.Sanitize(JobNamePrefix).Length == 0)
        {
            throw ProfileChecks.Error(Source, "jobNamePrefix", $"must contain letters or digits (got '{JobNamePrefix}').");
        }

        foreach (var (name, uri) in Channels)
        {
            if (!ChannelName().IsMatch(name))
            {
                throw ProfileChecks.Error(Source, $"channels.{name}", "is not a valid channel name ([A-Za-z0-9.-_]{1,64}).");
            }

            ProfileChecks.StorageUri(Source, $"channels.{name}", uri);
        }

        foreach (var (name, fileSystem) in FileSystemChannels)
        {
            if (!ChannelName().IsMatch(name))
            {
                throw ProfileChecks.Error(Source, $"channels.{name}", "is not a valid channel name ([A-Za-z0-9.-_]{1,64}).");
            }

            if (Channels.ContainsKey(name))
            {
                throw ProfileChecks.Error(Source, $"channels.{name}", "is given both as a location and as a file system.");
            }

            fileSystem.Validate(Source, $"channels.{name}");
        }

        ProfileChecks.Vpc(Source, VpcConfig);
        if (FileSystemChannels.Count > 0 && VpcConfig is null)
        {
            throw ProfileChecks.Error(Source, "vpcConfig",
                $"is required with a file-system channel ({string.Join(", ", FileSystemChannels.Keys)}): SageMaker mounts EFS and FSx for Lustre through the job's VPC "
                + "(give the subnets and security groups that reach the file system).");
        }

        if (Spot)
        {
            if (CheckpointUri is null)
            {
                throw ProfileChecks.Error(Source, "checkpointUri",
                    "is required with spot training: an interrupted spot job restarts from the checkpoints synced there, and without them it would start over.");
            }

            if (MaxWaitTimeInSeconds < MaxRuntimeInSeconds)
            {
                throw ProfileChecks.Error(Source, "maxWaitTimeInSeconds",
                    $"must be at least maxRuntimeInSeconds ({MaxRuntimeInSeconds}) with spot training (got {MaxWaitTimeInSeconds}).");
            }
        }
        else if (MaxWaitTimeInSeconds is not null)
        {
            throw ProfileChecks.Error(Source, "maxWaitTimeInSeconds", "applies to spot training only (set 'spot': true).");
        }
    }

    /// <summary>The spot wait limit sent to SageMaker (null without spot).</summary>
    [JsonIgnore]
    public int? EffectiveMaxWaitTimeInSeconds =>
        Spot ? MaxWaitTimeInSeconds ?? (int)Math.Min(int.MaxValue, 2L * MaxRuntimeInSeconds) : null;

    [GeneratedRegex("^[A-Za-z0-9.\\-_]{1,64}$")]
    private static partial Regex ChannelName();
}
