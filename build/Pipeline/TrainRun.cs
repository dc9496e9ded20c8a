using D2.Build.Engine;
using D2.Operations.Steps;
using D2.Operations.Pipeline;

namespace D2.Build.Pipeline;

/// <summary>The Train target: start the job, follow it on the console, write the report (the work is D2.Operations').</summary>
internal sealed class TrainRun(OperationsContext operations, string? localRoot, string reportDirectory, string d2Dll, string root, TextWriter log)
{
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(30);

    public async Task<(TrainingResult Result, TrainingReport.Files Report)> RunAsync(TrainingProfile profile)
    {
        var started = await operations.Training.StartTrainingAsync(profile);
        log.WriteLine($"Training job {started.JobName} started ({profile.InstanceType}, {started.Request.AlgorithmSpecification?.TrainingImage})");
        var logPath = localRoot is null ? null : TrainingFollower.LocalLogPath(localRoot, started.JobName);
        if (logPath is not null)
            log.WriteLine($"Job log: {logPath}");
        else
            log.WriteLine("Iteration and ETA come from the job's log, which is in CloudWatch Logs on AWS (not read here): statuses and metrics only.");
        TrainingResult result;
        try
        {
            result = await TrainingDisplay.ShowAsync(started.JobName,
                progress => new TrainingFollower(operations).FollowAsync(started.JobName, progress, logPath, PollInterval), log);
        }
        catch (TrainingJobFailedException e)
        {
            if (logPath is not null && File.Exists(logPath))
                log.WriteLine($"Last lines of {logPath}:{Environment.NewLine}{string.Join(Environment.NewLine, File.ReadLines(logPath).TakeLast(20))}");
            throw new BuildFailedException(e.Message);
        }
        log.WriteLine($"Training job {result.JobName} {result.Status}; model {result.ModelArtifacts}");

        var work = Path.Combine(reportDirectory, ".work");
        if (Directory.Exists(work))
            Directory.Delete(work, recursive: true);
        var artifacts = await TrainingArtifacts.FetchAsync(operations, result.Description, work);
        var history = MetricsHistory.Parse(artifacts.ReadMetricsJson() ?? "");
        var (overlays, skipped) = await PredictionOverlays.RenderAsync(d2Dll, artifacts, result.Description, work, root);
        var report = TrainingReport.Write(reportDirectory, result, history, overlays, skipped);
        Directory.Delete(work, recursive: true);
        log.WriteLine($"Training report: {report.Markdown}");
        // GitHub renders the step summary; its images must be uploaded elsewhere, so the table and text are what shows there.
        if (Environment.GetEnvironmentVariable("GITHUB_STEP_SUMMARY") is { Length: > 0 } summary)
            await File.AppendAllTextAsync(summary, report.Text + Environment.NewLine);
        return (result, report);
    }
}
