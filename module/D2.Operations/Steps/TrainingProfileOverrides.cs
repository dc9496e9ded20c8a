using System.Globalization;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>
/// Training settings given one by one (cmdlet parameters, command-line options) that override a profile's, or make a
/// whole profile for the local SageMaker. Null means "keep the profile's value".
/// </summary>
public sealed record TrainingProfileOverrides
{
    /// <summary>The role the local SageMaker is given when none is (it assumes nothing; AWS requires a real one).</summary>
    public const string LocalPlaceholderRole = "arn:aws:iam::000000000000:role/SageMakerExecutionRole";

    /// <summary>The training image the local SageMaker runs when none is given (its TrainingCommand).</summary>
    public const string LocalImage = "d2-trainer:local-cpu";

    public string? JobName { get; init; }
    public string? ConfigFile { get; init; }
    public string? LocalConfigFile { get; init; }

    /// <summary>The opts hyperparameter: one string, or KEY VALUE items (each value quoted as the trainer's parser expects).</summary>
    public IReadOnlyList<string>? Opts { get; init; }
    public string? InstanceType { get; init; }
    public int? InstanceCount { get; init; }
    public string? TrainingData { get; init; }
    public string? ValidationData { get; init; }
    public string? OutputPath { get; init; }
    public string? RoleArn { get; init; }
    public bool? Spot { get; init; }
    public TimeSpan? MaxRuntime { get; init; }
    public string? CheckpointUri { get; init; }
    public string? Image { get; init; }

    /// <summary>
    /// The profile to start: <paramref name="profile"/> (or, without one, a new profile) with these values on top.
    /// <paramref name="local"/> fills what the local SageMaker does not care about (role, image, instance type) and
    /// turns local paths into file:// URIs. Validated; errors name the field.
    /// </summary>
    public TrainingProfile Apply(TrainingProfile? profile, bool local)
    {
        var source = profile?.Source ?? "parameters";
        var hyperParameters = new Dictionary<string, string>(profile?.HyperParameters ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        Set(hyperParameters, TrainerHyperParameters.ConfigFile, ConfigFile);
        Set(hyperParameters, TrainerHyperParameters.LocalConfigFile, LocalConfigFile);
        Set(hyperParameters, TrainerHyperParameters.Opts, Opts is null ? null : JoinOpts(Opts));
        var channels = new Dictionary<string, string>(profile?.Channels ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        Set(channels, TrainerHyperParameters.TrainingChannel, Location(TrainingData, local));
        Set(channels, TrainerHyperParameters.ValidationChannel, Location(ValidationData, local));

        var maxRuntime = MaxRuntime is { } runtime ? checked((int)Math.Ceiling(runtime.TotalSeconds)) : (int?)null;
        var result = (profile ?? new TrainingProfile
        {
            JobNamePrefix = "d2",
            RoleArn = "",
            InstanceType = "",
            OutputPath = "",
            Source = source,
        }) with
        {
            JobNamePrefix = JobName ?? profile?.JobNamePrefix ?? "d2",
            RoleArn = RoleArn ?? NonEmpty(profile?.RoleArn) ?? (local ? LocalPlaceholderRole : ""),
            Image = Image ?? profile?.Image ?? (local && profile?.Repository is null ? LocalImage : null),
            InstanceType = InstanceType ?? NonEmpty(profile?.InstanceType) ?? (local ? "ml.m5.xlarge" : ""),
            InstanceCount = InstanceCount ?? profile?.InstanceCount ?? 1,
            OutputPath = Location(OutputPath, local) ?? NonEmpty(profile?.OutputPath) ?? "",
            Spot = Spot ?? profile?.Spot ?? false,
            MaxRuntimeInSeconds = maxRuntime ?? profile?.MaxRuntimeInSeconds ?? 86400,
            CheckpointUri = Location(CheckpointUri, local) ?? profile?.CheckpointUri,
            HyperParameters = hyperParameters,
            Channels = channels,
            // A channel given here replaces a file-system channel of the same name.
            FileSystemChannels = (profile?.FileSystemChannels ?? new Dictionary<string, FileSystemChannel>())
                .Where(c => !channels.ContainsKey(c.Key)).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal),
        };
        if (result.OutputPath.Length == 0 && local)
        {
            result = result with { OutputPath = new Uri(Path.Combine(Path.GetTempPath(), "d2-local-output") + "/").AbsoluteUri };
        }

        result.Validate();
        return result;
    }

    /// <summary>
    /// One opts string from either form: a single item is taken as the whole string; several items are KEY VALUE pairs,
    /// values with spaces or empty values quoted (<c>MODEL.WEIGHTS ""</c>).
    /// </summary>
    public static string JoinOpts(IReadOnlyList<string> opts)
    {
        ArgumentNullException.ThrowIfNull(opts);
        if (opts.Count == 1)
        {
            return opts[0];
        }

        if (opts.Count % 2 != 0)
        {
            throw new InvalidProfileException("opts",
                $"opts: KEY VALUE items come in pairs; got {opts.Count.ToString(CultureInfo.InvariantCulture)} items (last: '{opts[^1]}').");
        }

        return string.Join(' ', opts.Select((item, i) => i % 2 == 1 && (item.Length == 0 || item.Contains(' ', StringComparison.Ordinal))
            ? $"\"{item.Replace("\"", "\\\"", StringComparison.Ordinal)}\""
            : item));
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static void Set(Dictionary<string, string> map, string key, string? value)
    {
        if (value is not null)
        {
            map[key] = value;
        }
    }

    private static string? Location(string? value, bool local) => LocalLocation.Uri(value, local);
}
