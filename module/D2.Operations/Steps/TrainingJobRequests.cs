using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>The CreateTrainingJob request for a profile: pure, so front ends can show it (what-if) and tests can check it.</summary>
public static class TrainingJobRequests
{
    /// <summary>Tag carrying the profile's git revision on jobs, models, endpoint configs and endpoints.</summary>
    public const string GitRevisionTag = "git-revision";

    /// <param name="profile">A validated profile.</param>
    /// <param name="image">The resolved trainer image.</param>
    /// <param name="now">Clock for the job name.</param>
    public static CreateTrainingJobRequest Build(TrainingProfile profile, string image, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentException.ThrowIfNullOrWhiteSpace(image);
        profile.Validate();
        return new CreateTrainingJobRequest
        {
            TrainingJobName = ResourceNames.Timestamped(profile.JobNamePrefix, now),
            RoleArn = profile.RoleArn,
            AlgorithmSpecification = new AlgorithmSpecification
            {
                TrainingImage = image,
                TrainingInputMode = TrainingInputMode.File,
                MetricDefinitions = TrainerMetrics.Definitions,
            },
            HyperParameters = profile.HyperParameters.Count > 0 ? profile.HyperParameters : null,
            InputDataConfig = profile.Channels.Count + profile.FileSystemChannels.Count > 0
                ? [.. profile.Channels.Select(c => new Channel
                {
                    ChannelName = c.Key,
                    DataSource = new DataSource
                    {
                        S3DataSource = new S3DataSource
                        {
                            S3DataType = S3DataType.S3Prefix,
                            S3Uri = c.Value,
                            S3DataDistributionType = S3DataDistribution.FullyReplicated,
                        },
                    },
                }), .. profile.FileSystemChannels.Select(c => new Channel { ChannelName = c.Key, DataSource = c.Value.ToDataSource() })]
                : null,
            OutputDataConfig = new OutputDataConfig { S3OutputPath = profile.OutputPath },
            ResourceConfig = new ResourceConfig
            {
                InstanceType = profile.InstanceType,
                InstanceCount = profile.InstanceCount,
                VolumeSizeInGB = profile.VolumeSizeInGB,
            },
            StoppingCondition = new StoppingCondition
            {
                MaxRuntimeInSeconds = profile.MaxRuntimeInSeconds,
                MaxWaitTimeInSeconds = profile.EffectiveMaxWaitTimeInSeconds,
            },
            VpcConfig = profile.VpcConfig,
            EnableManagedSpotTraining = profile.Spot ? true : null,
            CheckpointConfig = profile.CheckpointUri is null ? null : new CheckpointConfig { S3Uri = profile.CheckpointUri },
            Environment = profile.Environment.Count > 0 ? profile.Environment : null,
            Tags = Tags(profile.Tags, profile.GitRevision),
        };
    }

    /// <summary>The profile's tags plus <see cref="GitRevisionTag"/> when a revision is known; null when there are none.</summary>
    internal static IReadOnlyList<Tag>? Tags(IReadOnlyDictionary<string, string> tags, string? gitRevision)
    {
        var list = tags.Where(t => t.Key != GitRevisionTag).Select(t => new Tag(t.Key, t.Value)).ToList();
        if (!string.IsNullOrWhiteSpace(gitRevision))
        {
            list.Add(new Tag(GitRevisionTag, gitRevision));
        }
        else if (tags.TryGetValue(GitRevisionTag, out var tagged))
        {
            list.Add(new Tag(GitRevisionTag, tagged));
        }

        return list.Count > 0 ? list : null;
    }
}
