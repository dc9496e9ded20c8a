using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Local;

/// <summary>CreateTrainingJob, DescribeTrainingJob, StopTrainingJob and ListTrainingJobs over local processes.</summary>
internal sealed class TrainingJobsApi
{
    private readonly LocalContext _context;
    private readonly ConcurrentDictionary<string, TrainingJob> _jobs = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _createGate = new();

    public TrainingJobsApi(LocalContext context)
    {
        _context = context;
        foreach (var job in context.Store.LoadAll(TrainingJob.Kind, TrainingJob.Load))
        {
            RecoverAfterRestart(job);
            _jobs[job.Name] = job;
        }
    }

    public IEnumerable<TrainingJob> All => _jobs.Values;

    public JsonObject Create(JsonObject request)
    {
        var name = (string)request["TrainingJobName"]!;
        var arn = _context.Arns.TrainingJob(name);
        CheckLocalSupport(request);
        var metrics = new MetricCollector(request["AlgorithmSpecification"]?["MetricDefinitions"] as JsonArray);

        var description = new JsonObject { ["TrainingJobName"] = name, ["TrainingJobArn"] = arn };
        foreach (var (member, value) in _context.EchoedMembers("CreateTrainingJobRequest", "DescribeTrainingJobResponse", request))
            description[member] = value!.DeepClone();
        // Defaults SageMaker fills in and reports back.
        description["StoppingCondition"] ??= new JsonObject { ["MaxRuntimeInSeconds"] = 86400 };
        description["EnableNetworkIsolation"] ??= false;
        description["EnableInterContainerTrafficEncryption"] ??= false;
        description["EnableManagedSpotTraining"] ??= false;
        description["TrainingJobStatus"] = LocalStatus.Wire(TrainingJobStatus.InProgress);
        description["CreationTime"] = EpochTime.Now();

        var job = new TrainingJob(_context.Store, description, (JsonObject)request.DeepClone(), request["Tags"]?.DeepClone() as JsonArray ?? []);
        lock (_createGate)
        {
            if (_jobs.ContainsKey(name))
                throw LocalApiException.InUse(
                    $"Training job names must be unique within an AWS account and region, and a training job with this name already exists ({arn})");
            lock (job.Gate)
                job.Transition(SecondaryStatus.Starting, "Launching requested ML instances");
            _jobs[name] = job;
        }
        _context.Log($"training job {name}: InProgress");
        new TrainingJobRun(_context, this, job, metrics).Start();
        return new JsonObject { ["TrainingJobArn"] = arn };
    }

    public JsonObject Describe(JsonObject request)
    {
        var job = Find((string)request["TrainingJobName"]!);
        lock (job.Gate)
            return (JsonObject)job.Description.DeepClone();
    }

    public JsonObject Stop(JsonObject request)
    {
        var job = Find((string)request["TrainingJobName"]!);
        lock (job.Gate)
        {
            if (job.Status is TrainingJobStatus.Stopping or TrainingJobStatus.Stopped)
                return [];
            if (job.Status != TrainingJobStatus.InProgress)
                throw LocalApiException.Validation($"The request was rejected because the training job is in status {job.Status}.");
        }
        RequestStop(job, SecondaryStatus.Stopped, "Stopping the training job");
        return [];
    }

    public JsonObject List(JsonObject request)
    {
        // No local job sits in a warm pool or on a training plan, so those filters match nothing.
        var summaries = request["WarmPoolStatusEquals"] is not null || request["TrainingPlanArnEquals"] is not null
            ? []
            : _jobs.Values.Select(job =>
            {
                lock (job.Gate)
                    return job.Summary();
            });
        return ListQuery.Response("TrainingJobSummaries", summaries, request, "TrainingJobName", "TrainingJobStatus", defaultDescending: false);
    }

    /// <summary>Moves the job to Stopping and sends SIGTERM; SIGKILL follows after the grace period. The run ends
    /// the job as Stopped (or MaxRuntimeExceeded) with whatever artifacts exist.</summary>
    public void RequestStop(TrainingJob job, SecondaryStatus stopAs, string message)
    {
        LocalProcess? process;
        lock (job.Gate)
        {
            if (job.StopAs is not null || job.Status != TrainingJobStatus.InProgress)
                return;
            job.StopAs = stopAs;
            job.Transition(SecondaryStatus.Stopping, message, TrainingJobStatus.Stopping);
            process = job.Process;
        }
        _context.Log($"training job {job.Name}: Stopping ({message})");
        if (process is null)
            return; // Not started yet: the run sees StopAs before starting the process.
        process.SendTerminate();
        _ = KillAfterGraceAsync(process);
    }

    /// <summary>Stops every running job (server shutdown) and waits for the runs to finish packing.</summary>
    public async Task StopAllAsync(TimeSpan grace)
    {
        var running = _jobs.Values.Where(j => { lock (j.Gate) return j.Status == TrainingJobStatus.InProgress; }).ToList();
        foreach (var job in running)
            RequestStop(job, SecondaryStatus.Stopped, "Stopping the training job: the local SageMaker is shutting down");
        var deadline = DateTime.UtcNow + grace + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline && _jobs.Values.Any(j => { lock (j.Gate) return j.Status is TrainingJobStatus.InProgress or TrainingJobStatus.Stopping; }))
            await Task.Delay(100).ConfigureAwait(false);
    }

    private async Task KillAfterGraceAsync(LocalProcess process)
    {
        var waited = process.WaitForExitAsync();
        if (await Task.WhenAny(waited, Task.Delay(_context.Options.TrainingStopGracePeriod)).ConfigureAwait(false) != waited)
            process.Kill();
    }

    private TrainingJob Find(string name) =>
        _jobs.TryGetValue(name, out var job) ? job : throw LocalApiException.NotFound();

    /// <summary>Refuses what the local SageMaker cannot do with a message naming the member, before anything starts.</summary>
    private void CheckLocalSupport(JsonObject request)
    {
        FileUris.ToLocalPath((string)request["OutputDataConfig"]!["S3OutputPath"]!, "outputDataConfig.s3OutputPath");
        if (request["CheckpointConfig"] is JsonObject checkpoint)
        {
            FileUris.ToLocalPath((string)checkpoint["S3Uri"]!, "checkpointConfig.s3Uri");
            var localPath = (string?)checkpoint["LocalPath"];
            if (localPath is not null && !SageMakerPaths.IsContainerPath(localPath.TrimEnd('/')))
                throw LocalApiException.Validation($"Value '{localPath}' at 'checkpointConfig.localPath' is not supported by the local SageMaker: use a path under /opt/ml.");
        }
        var channels = request["InputDataConfig"] as JsonArray ?? [];
        for (var i = 0; i < channels.Count; i++)
        {
            var source = channels[i]?["DataSource"];
            if (source?["S3DataSource"]?["S3Uri"] is JsonValue uri)
                FileUris.ToLocalPath((string)uri!, $"inputDataConfig.{i + 1}.member.dataSource.s3DataSource.s3Uri");
            else if (source?["FileSystemDataSource"] is JsonObject fileSystem)
                FileSystemMounts.Resolve(_context.Options, (string)channels[i]!["ChannelName"]!, fileSystem, request["VpcConfig"] is JsonObject);
            else
                throw LocalApiException.Validation($"Channel '{channels[i]?["ChannelName"]}': the local SageMaker supports S3DataSource channels with file:// URIs "
                    + "and FileSystemDataSource channels only.");
        }
        var resources = request["ResourceConfig"];
        if (resources?["InstanceGroups"] is JsonArray { Count: > 0 })
            throw LocalApiException.Validation("The local SageMaker runs homogeneous clusters only: use ResourceConfig.InstanceCount and no InstanceGroups.");
    }

    /// <summary>A job that was running when the previous server went away has lost its supervisor (and its output
    /// pipes): end any process still there and mark it Failed, as SageMaker does when the instance is lost.</summary>
    private void RecoverAfterRestart(TrainingJob job)
    {
        if (job.Status is not (TrainingJobStatus.InProgress or TrainingJobStatus.Stopping))
            return;
        if (job.Pid is int pid && job.ProcessStart is DateTimeOffset start)
            PosixSignals.TerminateOrphan(pid, start);
        lock (job.Gate)
        {
            job.Description["FailureReason"] = "local SageMaker restarted while the job was running";
            job.Description["TrainingEndTime"] ??= EpochTime.Now();
            job.Pid = null;
            job.Transition(SecondaryStatus.Failed, "local SageMaker restarted while the job was running", TrainingJobStatus.Failed);
        }
        _context.Log($"training job {job.Name}: Failed (the server restarted while it was running)");
    }
}
