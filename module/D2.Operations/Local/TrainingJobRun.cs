using System.Text.Json.Nodes;
using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;

namespace D2.Operations.Local;

/// <summary>
/// Runs one training job as SageMaker runs a container: stage the /opt/ml tree and channel data (Downloading),
/// run <c>{command} train</c> with the contract's environment (Training), sync checkpoints out while it runs, then
/// pack model.tar.gz and output.tar.gz into the output path (Uploading) and settle the final status.
/// </summary>
/// <remarks>
/// With ResourceConfig.InstanceCount N &gt; 1 each host algo-1..algo-N gets its own tree and process, on loopback
/// (MASTER_ADDR 127.0.0.1 and a free MASTER_PORT in their environment stand in for SageMaker's host names). algo-1's
/// process is the job's: its log feeds the metrics, it receives the stop signal (the trainer's ranks agree on when to
/// stop), and its tree is packed; the others are waited for. As SageMaker ends a job when one host fails, a failed host
/// gives the others <see cref="FailedHostGrace"/> to end before they are killed. The FailureReason is the root cause's:
/// the failure file of the host that failed first for its own reason, not of those that exited with
/// <see cref="TrainerExitCodes.PeerLost"/> because it went away.
/// </remarks>
internal sealed class TrainingJobRun(LocalContext context, TrainingJobsApi jobs, TrainingJob job, MetricCollector metrics)
{
    private static readonly TimeSpan CompanionGrace = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan FailedHostGrace = TimeSpan.FromSeconds(15);

    private readonly TrainingWorkspace _workspace = Workspaces(context, job)[0];
    private readonly List<TrainingWorkspace> _companions = [.. Workspaces(context, job).Skip(1)];
    private TrainingWorkspace? _failedHost;

    /// <summary>How and when one host's process ended.</summary>
    private sealed record HostExit(TrainingWorkspace Workspace, int Code, DateTime At);

    private static async Task<HostExit> ExitOf(TrainingWorkspace workspace, LocalProcess process)
    {
        var code = await process.WaitForExitAsync().ConfigureAwait(false);
        return new HostExit(workspace, code, DateTime.UtcNow);
    }

    private static List<TrainingWorkspace> Workspaces(LocalContext context, TrainingJob job)
    {
        var folder = Path.Combine(context.Root, "training-jobs", job.Name);
        var count = Math.Max(1, (int?)job.Request["ResourceConfig"]?["InstanceCount"] ?? 1);
        var hosts = Enumerable.Range(1, count).Select(i => $"algo-{i}").ToList();
        return [.. hosts.Select((host, i) => new TrainingWorkspace(i == 0 ? folder : Path.Combine(folder, "instances", host), host, hosts))];
    }

    /// <summary>Raised for a job failure with SageMaker's FailureReason wording.</summary>
    private sealed class JobFailure(string reason) : Exception(reason);

    public void Start() => _ = Task.Run(RunAsync);

    private async Task RunAsync()
    {
        var request = job.Request;
        var outputUri = (string)request["OutputDataConfig"]!["S3OutputPath"]!;
        string? checkpointSource = request["CheckpointConfig"]?["S3Uri"] is JsonNode uri
            ? FileUris.ToLocalPath((string)uri!, "checkpointConfig.s3Uri") : null;
        var checkpointDir = CheckpointDir(request);
        int? exitCode = null;
        try
        {
            Move(SecondaryStatus.Starting, "Preparing the instances for training");
            foreach (var workspace in _companions.Prepend(_workspace))
                workspace.Prepare(request);
            Move(SecondaryStatus.Downloading, "Downloading input data");
            foreach (var workspace in _companions.Prepend(_workspace))
                StageChannels(request, workspace);
            // As SageMaker, every instance starts with the checkpoints (only algo-1's are synced back: rank 0 writes them).
            if (checkpointSource is not null && Directory.Exists(checkpointSource))
                foreach (var workspace in _companions.Prepend(_workspace))
                    LocalFiles.CopyChanged(checkpointSource, CheckpointDir(request, workspace));

            Move(SecondaryStatus.Training, "Training image download completed. Training in progress.");
            exitCode = await RunProcessAsync(request, checkpointSource, checkpointDir).ConfigureAwait(false);
        }
        catch (JobFailure failure)
        {
            Finish(SecondaryStatus.Failed, failure.Message);
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            Finish(SecondaryStatus.Failed, $"ClientError: {e.Message}");
            return;
        }

        SecondaryStatus? stopAs;
        lock (job.Gate)
            stopAs = job.StopAs;
        if (exitCode is not null && stopAs is null && exitCode != 0)
        {
            Finish(SecondaryStatus.Failed, FailureReason(exitCode.Value));
            return;
        }

        Move(SecondaryStatus.Uploading, "Uploading generated training model");
        try
        {
            if (checkpointSource is not null)
                LocalFiles.CopyChanged(checkpointDir, checkpointSource);
            var jobOutput = Path.Combine(FileUris.ToLocalPath(outputUri, "outputDataConfig.s3OutputPath"), job.Name, "output");
            var modelTarGz = Path.Combine(jobOutput, "model.tar.gz");
            LocalFiles.PackTarGz(_workspace.ModelDir, modelTarGz);
            LocalFiles.PackTarGz(_workspace.OutputDataDir, Path.Combine(jobOutput, "output.tar.gz"));
            lock (job.Gate)
                job.Description["ModelArtifacts"] = new JsonObject { ["S3ModelArtifacts"] = FileUris.FromLocalPath(modelTarGz) };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Finish(SecondaryStatus.Failed, $"ClientError: uploading the artifacts failed: {e.Message}");
            return;
        }

        if (stopAs is null)
            Finish(SecondaryStatus.Completed, "Training job completed");
        else
            Finish(stopAs.Value, stopAs == SecondaryStatus.MaxRuntimeExceeded
                ? "Training job runtime exceeded MaxRuntimeInSeconds provided"
                : "Training job stopped");
    }

    private async Task<int?> RunProcessAsync(JsonObject request, string? checkpointSource, string checkpointDir)
    {
        var command = Command(request);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [SageMakerEnvironment.BaseDirectory] = _workspace.OptMl,
            [SageMakerEnvironment.TrainingJobName] = job.Name,
            [SageMakerEnvironment.TrainingJobArn] = (string)job.Description["TrainingJobArn"]!,
            [SageMakerEnvironment.AwsRegion] = context.Options.Region,
        };
        foreach (var (key, value) in request["Environment"] as JsonObject ?? [])
            environment[key] = (string)value!;
        if (_companions.Count > 0)
        {
            environment["MASTER_ADDR"] = "127.0.0.1";
            environment.TryAdd("MASTER_PORT", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var companions = new List<(TrainingWorkspace Workspace, LocalProcess Process)>();
        LocalProcess process;
        lock (job.Gate)
        {
            if (job.StopAs is not null)
                return null; // Stopped before the container started: nothing ran, nothing to wait for.
            try
            {
                process = LocalProcess.Start(command, _workspace.Folder, environment, _workspace.LogPath, metrics.OnLine,
                    context.Options.Log, $"[{job.Name}] ");
            }
            catch (InvalidOperationException e)
            {
                throw new JobFailure(FailureFile.AlgorithmError(e.Message));
            }
            try
            {
                foreach (var workspace in _companions)
                    companions.Add((workspace, LocalProcess.Start(command, workspace.Folder, new Dictionary<string, string>(environment) { [SageMakerEnvironment.BaseDirectory] = workspace.OptMl },
                        workspace.LogPath, null, context.Options.Log, $"[{job.Name} {workspace.Host}] ")));
            }
            catch (InvalidOperationException e)
            {
                process.Kill();
                foreach (var (_, companion) in companions) companion.Kill();
                throw new JobFailure(FailureFile.AlgorithmError(e.Message));
            }
            job.Process = process;
            job.Pid = process.Id;
            job.ProcessStart = process.StartTime;
            job.Description["TrainingStartTime"] = EpochTime.From(process.StartTime);
            job.Save();
        }
        context.Log($"training job {job.Name}: started '{string.Join(' ', command)} ...' (log: {_workspace.LogPath})");

        using (process)
        {
            var exited = ExitOf(_workspace, process);
            var companionExits = companions.Select(c => ExitOf(c.Workspace, c.Process)).ToList();
            DateTime? killAt = null;
            var maxRuntime = (int?)request["StoppingCondition"]?["MaxRuntimeInSeconds"];
            var deadline = maxRuntime is int seconds ? DateTime.UtcNow.AddSeconds(seconds) : DateTime.MaxValue;
            var syncEvery = context.Options.CheckpointSyncInterval;
            while (!exited.IsCompleted)
            {
                var remaining = (killAt ?? deadline) < deadline ? killAt!.Value - DateTime.UtcNow : deadline - DateTime.UtcNow;
                var wait = remaining < syncEvery ? remaining : syncEvery;
                if (wait > TimeSpan.Zero)
                {
                    var watched = new List<Task> { exited, Task.Delay(wait) };
                    if (killAt is null)
                        watched.AddRange(companionExits);
                    await Task.WhenAny(watched).ConfigureAwait(false);
                }
                if (exited.IsCompleted)
                    break;
                if (killAt is null && companionExits.FirstOrDefault(e => e.IsCompleted && e.Result.Code != 0) is { } failed)
                {
                    killAt = DateTime.UtcNow + FailedHostGrace;
                    context.Log($"training job {job.Name}: {failed.Result.Workspace.Host} exited with code {failed.Result.Code}; "
                        + $"the other hosts get {FailedHostGrace.TotalSeconds:0} s to end");
                }
                if (killAt is not null && DateTime.UtcNow >= killAt)
                {
                    context.Log($"training job {job.Name}: algo-1 still running {FailedHostGrace.TotalSeconds:0} s after a host failed; killing it");
                    process.Kill();
                    killAt = DateTime.MaxValue;
                }
                if (DateTime.UtcNow >= deadline)
                {
                    deadline = DateTime.MaxValue;
                    context.Log($"training job {job.Name}: MaxRuntimeInSeconds ({maxRuntime}) reached");
                    jobs.RequestStop(job, SecondaryStatus.MaxRuntimeExceeded, "Training job runtime exceeded MaxRuntimeInSeconds provided");
                }
                if (checkpointSource is not null)
                    LocalFiles.CopyChanged(checkpointDir, checkpointSource);
            }
            var first = await exited.ConfigureAwait(false);
            var code = await WaitForCompanionsAsync(companions, companionExits, first).ConfigureAwait(false);
            lock (job.Gate)
            {
                job.Process = null;
                job.Pid = null;
                job.Description["TrainingEndTime"] = EpochTime.Now();
                var start = EpochTime.Read(job.Description["TrainingStartTime"]) ?? process.StartTime;
                var elapsed = Math.Max(1, (int)Math.Round((DateTimeOffset.UtcNow - start).TotalSeconds));
                job.Description["TrainingTimeInSeconds"] = elapsed;
                job.Description["BillableTimeInSeconds"] = elapsed;
            }
            process.WriteLog($"[local-sagemaker] process exited with code {code}");
            return code;
        }
    }

    /// <summary>The other hosts end with algo-1 (they share its collectives); one still running after the grace period is
    /// killed. The job's exit code is the root cause's: the first host to fail with another code than
    /// <see cref="TrainerExitCodes.PeerLost"/>, else the first to fail.</summary>
    private async Task<int> WaitForCompanionsAsync(List<(TrainingWorkspace Workspace, LocalProcess Process)> companions, List<Task<HostExit>> exits, HostExit first)
    {
        var all = new List<HostExit> { first };
        for (var i = 0; i < companions.Count; i++)
        {
            var (workspace, companion) = companions[i];
            using (companion)
            {
                if (await Task.WhenAny(exits[i], Task.Delay(CompanionGrace)).ConfigureAwait(false) != exits[i])
                {
                    context.Log($"training job {job.Name}: {workspace.Host} still running {CompanionGrace.TotalSeconds:0} s after algo-1 ended; killing it");
                    companion.Kill();
                }
                var exit = await exits[i].ConfigureAwait(false);
                companion.WriteLog($"[local-sagemaker] process exited with code {exit.Code}");
                all.Add(exit);
            }
        }
        var failed = all.Where(e => e.Code != 0).OrderBy(e => e.At).ToList();
        if (failed.Count == 0)
            return 0;
        var root = failed.FirstOrDefault(e => e.Code != TrainerExitCodes.PeerLost) ?? failed[0];
        _failedHost = root.Workspace;
        return root.Code;
    }

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        return ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
    }

    private IReadOnlyList<string> Command(JsonObject request)
    {
        var algorithm = request["AlgorithmSpecification"];
        var image = (string?)algorithm?["TrainingImage"];
        IReadOnlyList<string> prefix = algorithm?["ContainerEntrypoint"] is JsonArray entrypoint
            ? [.. entrypoint.Select(e => (string)e!)]
            : image is not null && context.Options.TrainingCommandsByImage.TryGetValue(image, out var mapped) ? mapped : context.Options.TrainingCommand;
        IReadOnlyList<string> arguments = algorithm?["ContainerArguments"] is JsonArray args ? [.. args.Select(a => (string)a!)] : ["train"];
        return [.. prefix, .. arguments];
    }

    private void StageChannels(JsonObject request, TrainingWorkspace workspace)
    {
        foreach (var channel in request["InputDataConfig"] as JsonArray ?? [])
        {
            var name = (string)channel!["ChannelName"]!;
            if (channel["DataSource"]?["FileSystemDataSource"] is JsonObject fileSystem)
            {
                FileSystemMounts.Mount(FileSystemMounts.Resolve(context.Options, name, fileSystem, vpcGiven: true), Path.Combine(workspace.DataDir, name));
                continue;
            }

            var source = FileUris.ToLocalPath((string)channel["DataSource"]!["S3DataSource"]!["S3Uri"]!, "S3Uri");
            if (!File.Exists(source) && !Directory.Exists(source))
                throw new JobFailure(FailureFile.ClientError($"Data download failed: the channel '{name}' source '{source}' does not exist."));
            LocalFiles.CopyInto(source, Path.Combine(workspace.DataDir, name));
        }
    }

    private string CheckpointDir(JsonObject request, TrainingWorkspace? workspace = null)
    {
        workspace ??= _workspace;
        var localPath = (string?)request["CheckpointConfig"]?["LocalPath"];
        if (localPath is null)
            return workspace.CheckpointDir;
        // Validated at create: under /opt/ml, mapped into this job's opt/ml tree.
        return workspace.Paths.Rebase(localPath.TrimEnd('/'));
    }

    private string FailureReason(int exitCode)
    {
        var workspace = _failedHost ?? _workspace;
        return FailureFile.Read(workspace.FailureFile)
            ?? FailureFile.AlgorithmError($"the training process on {workspace.Host} exited with code {exitCode}; see {workspace.LogPath}");
    }

    private void Move(SecondaryStatus secondary, string message)
    {
        lock (job.Gate)
        {
            // A stop asked meanwhile owns the status line from here on.
            if (job.StopAs is null)
                job.Transition(secondary, message);
        }
        context.Log($"training job {job.Name}: {secondary} - {message}");
    }

    private void Finish(SecondaryStatus secondary, string message)
    {
        var primary = secondary switch
        {
            SecondaryStatus.Completed => TrainingJobStatus.Completed,
            SecondaryStatus.Failed => TrainingJobStatus.Failed,
            SecondaryStatus.Stopped or SecondaryStatus.MaxRuntimeExceeded => TrainingJobStatus.Stopped,
            _ => throw new ArgumentOutOfRangeException(nameof(secondary), secondary, "not a final secondary status"),
        };
        lock (job.Gate)
        {
            if (primary == TrainingJobStatus.Failed)
                job.Description["FailureReason"] = message.Length <= 1024 ? message : message[..1024];
            job.Description["TrainingEndTime"] ??= EpochTime.Now();
            var metricList = metrics.FinalMetrics();
            if (metricList.Count > 0)
                job.Description["FinalMetricDataList"] = metricList;
            job.Transition(secondary, message, primary);
        }
        context.Log($"training job {job.Name}: {primary} - {message}");
    }
}
