namespace D2.Operations.Local;

/// <summary>
/// Settings of the local SageMaker. Training jobs run <c>{command} train</c> and endpoints <c>{command} serve</c>,
/// where the command is chosen by the job's TrainingImage (or the model's container Image) in
/// <see cref="TrainingCommandsByImage"/> / <see cref="ServingCommandsByImage"/>, falling back to
/// <see cref="TrainingCommand"/> / <see cref="ServingCommand"/>. An AlgorithmSpecification.ContainerEntrypoint
/// replaces the command and ContainerArguments replace <c>train</c>, as with <c>docker run --entrypoint</c>.
/// </summary>
public sealed class LocalSageMakerOptions
{
    /// <summary>Address to bind; loopback by default because the API is unauthenticated.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (read it back from <see cref="LocalSageMakerServer.BaseUrl"/>).</summary>
    public int Port { get; set; }

    /// <summary>State, job work folders and endpoint folders live here; a restarted server on the same root sees the same resources.</summary>
    public string Root { get; set; } = DefaultRoot();

    /// <summary>Region written into ARNs and given to processes as AWS_REGION.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>The account of every ARN and of STS GetCallerIdentity.</summary>
    public string AccountId { get; set; } = "000000000000";

    /// <summary>
    /// Program (and leading arguments) that plays the training container, e.g. ["dotnet", "/path/d2.dll"].
    /// Default: <c>d2</c> on PATH, the product's trainer; a host that is itself <c>d2</c> should set its own path.
    /// </summary>
    public IReadOnlyList<string> TrainingCommand { get; set; } = ["d2"];

    /// <summary>Per-TrainingImage commands (exact image string); images not listed use <see cref="TrainingCommand"/>.</summary>
    public IDictionary<string, IReadOnlyList<string>> TrainingCommandsByImage { get; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary>Program (and leading arguments) that plays the serving container. Default: <c>D2.Serving</c> on PATH.</summary>
    public IReadOnlyList<string> ServingCommand { get; set; } = ["D2.Serving"];

    /// <summary>Per-container-Image serving commands; images not listed use <see cref="ServingCommand"/>.</summary>
    public IDictionary<string, IReadOnlyList<string>> ServingCommandsByImage { get; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary>
    /// Where each EFS / FSx for Lustre file system (by FileSystemId) is mounted on this machine: a FileSystemDataSource
    /// channel is the folder <c>{mount}/{DirectoryPath}</c>. A file system not listed is taken as mounted at <c>/</c>
    /// (DirectoryPath is a local path), as on a host that mounts it where the job would see it.
    /// </summary>
    public IDictionary<string, string> FileSystemMounts { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Time between SIGTERM and SIGKILL for a stopped training job (SageMaker: 120 s).</summary>
    public TimeSpan TrainingStopGracePeriod { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Time between SIGTERM and SIGKILL for a serving process being replaced or deleted (SageMaker: 30 s).</summary>
    public TimeSpan ServingStopGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a serving process may take to answer GET /ping with 200 when the variant does not set
    /// ContainerStartupHealthCheckTimeoutInSeconds.</summary>
    public TimeSpan ServingStartupTimeout { get; set; } = TimeSpan.FromMinutes(4);

    /// <summary>How often opt/ml/checkpoints is copied out to CheckpointConfig.S3Uri while a job runs.</summary>
    public TimeSpan CheckpointSyncInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where process output and status transitions are echoed (besides the log files); null for silence.</summary>
    public TextWriter? Log { get; set; }

    /// <summary>On start, restart endpoints that were serving when the previous server went away (otherwise they become Failed).</summary>
    public bool RestartEndpointsOnStartup { get; set; } = true;

    /// <summary>~/.d2/local-sagemaker, or the temp folder when there is no home.</summary>
    public static string DefaultRoot()
    {
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(home) ? Path.GetTempPath() : home, ".d2", "local-sagemaker");
    }
}
