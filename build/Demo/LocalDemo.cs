using System.Globalization;
using D2.Build.Tools;
using D2.Operations.Local;
using D2.Build.Engine;
using D2.Build.Pipeline;
using D2.Operations.Steps;
using D2.Operations.Pipeline;
using D2.SageMaker.Contract;

namespace D2.Build.Demo;

/// <summary>
/// The main job on a laptop: the product's own path through SageMaker, with the local SageMaker standing in for AWS.
/// Synthetic balloons become the job's channels, StartTraining runs the trainer (`d2 train` in an /opt/ml tree, as the
/// trainer image would), WaitForTraining follows it to Completed and reads the evaluation from the job's metrics,
/// Deploy puts model.tar.gz behind an endpoint served by D2.Serving, Invoke gets the JSON and PNG overlays of
/// validation images, and the endpoint is deleted again.
/// </summary>
internal sealed class LocalDemo(string root, string demoDirectory, string d2Dll, string servingDll, int iterations, TextWriter log)
{
    public sealed record Result(IReadOnlyDictionary<string, double> Metrics, string ModelArtifacts, string Predictions, int Overlays, string JobFolder);

    public async Task<Result> RunAsync(CancellationToken cancellationToken = default)
    {
        var datasets = Path.Combine(demoDirectory, "datasets", "balloon");
        await ProcessTasks.RunAsync("dotnet", [d2Dll, "synth-balloons", "--out", datasets, "--train", "200", "--val", "50"], root);

        // A fresh start: a job whose CheckpointConfig finds checkpoints resumes from them (as a spot job does), so the
        // previous demo's would make this one skip training.
        var localRoot = Path.Combine(demoDirectory, "local-sagemaker");
        foreach (var previous in new[] { localRoot, Path.Combine(demoDirectory, "checkpoints"), Path.Combine(demoDirectory, "jobs") })
            if (Directory.Exists(previous))
                Directory.Delete(previous, recursive: true);
        await using var server = await LocalSageMakerServer.StartAsync(new LocalSageMakerOptions
        {
            Root = localRoot,
            TrainingCommand = ["dotnet", d2Dll],
            ServingCommand = ["dotnet", servingDll],
            // The trainer's and server's own lines go to their log files: the console shows the progress display.
            Log = null,
        }, cancellationToken);
        log.WriteLine($"Local SageMaker on {server.BaseUrl} (root {localRoot})");
        using var operations = OperationsContext.ForLocal(server);

        // The config's 1000-iteration schedule, scaled: LR steps at 80% and 95%, a checkpoint halfway; the warmup stays
        // long (40%, at most the config's 200), as a short one at this learning rate is what makes from-scratch runs spike.
        var opts = string.Join(' ',
            "SOLVER.MAX_ITER", Invariant(iterations), "SOLVER.STEPS", $"({iterations * 4 / 5},{iterations * 19 / 20})",
            "SOLVER.WARMUP_ITERS", Invariant(Math.Min(200, iterations * 2 / 5)), "SOLVER.CHECKPOINT_PERIOD", Invariant(iterations / 2),
            "TEST.EVAL_PERIOD", "0");
        var output = new Uri(Path.Combine(demoDirectory, "jobs") + "/").AbsoluteUri;
        var started = await operations.Training.StartTrainingAsync(new TrainingProfile
        {
            JobNamePrefix = "balloons-demo",
            RoleArn = "arn:aws:iam::000000000000:role/SageMakerExecutionRole",
            Image = "d2-trainer:local-cpu",
            InstanceType = "ml.m5.xlarge",
            HyperParameters = new Dictionary<string, string>
            {
                [TrainerHyperParameters.ConfigFile] = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
                [TrainerHyperParameters.Opts] = opts,
                // Each split holds the same annotations as VIA and COCO json; the COCO file carries the class names.
                [TrainerHyperParameters.TrainingAnnotations] = "annotations.json",
                [TrainerHyperParameters.ValidationAnnotations] = "annotations.json",
            },
            Channels = new Dictionary<string, string>
            {
                [TrainerHyperParameters.TrainingChannel] = new Uri(Path.Combine(datasets, "train") + "/").AbsoluteUri,
                [TrainerHyperParameters.ValidationChannel] = new Uri(Path.Combine(datasets, "val") + "/").AbsoluteUri,
            },
            OutputPath = output,
            CheckpointUri = new Uri(Path.Combine(demoDirectory, "checkpoints") + "/").AbsoluteUri,
        }, cancellationToken);
        var jobLog = TrainingFollower.LocalLogPath(localRoot, started.JobName);
        log.WriteLine($"Training job {started.JobName} started (log: {jobLog})");
        TrainingResult trained;
        try
        {
            trained = await TrainingDisplay.ShowAsync(started.JobName,
                progress => new TrainingFollower(operations).FollowAsync(started.JobName, progress, jobLog, TimeSpan.FromSeconds(2), cancellationToken), log);
        }
        catch (TrainingJobFailedException e)
        {
            if (File.Exists(jobLog))
                log.WriteLine($"Last lines of {jobLog}:{Environment.NewLine}{string.Join(Environment.NewLine, File.ReadLines(jobLog).TakeLast(20))}");
            throw new BuildFailedException(e.Message);
        }
        if (trained.Status != D2.SageMaker.Contract.TrainingJobStatus.Completed)
            throw new InvalidOperationException($"Training job {started.JobName} ended {trained.Status}.");

        var deployed = await operations.Endpoints.DeployAsync(new DeploymentProfile
        {
            EndpointName = "balloons-demo",
            TrainingJobName = started.JobName,
            Image = "d2-serving:local-cpu",
            InstanceType = "ml.m5.xlarge",
        }, new Progress<EndpointProgress>(p => log.WriteLine($"[endpoint] {p}")), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5), cancellationToken);

        var predictions = Path.Combine(demoDirectory, "predictions");
        if (Directory.Exists(predictions))
            Directory.Delete(predictions, recursive: true);
        Directory.CreateDirectory(predictions);
        var images = Directory.EnumerateFiles(Path.Combine(datasets, "val"), "*.jpg").Order(StringComparer.Ordinal).Take(3).ToList();
        foreach (var image in images)
        {
            var bytes = await File.ReadAllBytesAsync(image, cancellationToken);
            var name = Path.GetFileNameWithoutExtension(image);
            var json = await operations.Endpoints.InvokeAsync(deployed.EndpointName, bytes, "image/jpeg", "application/json", cancellationToken);
            await File.WriteAllBytesAsync(Path.Combine(predictions, name + ".json"), json.Body, cancellationToken);
            var png = await operations.Endpoints.InvokeAsync(deployed.EndpointName, bytes, "image/jpeg", "image/png", cancellationToken);
            await File.WriteAllBytesAsync(Path.Combine(predictions, name + ".png"), png.Body, cancellationToken);
            log.WriteLine($"InvokeEndpoint {deployed.EndpointName} <- {Path.GetFileName(image)}: {Path.Combine(predictions, name)}.{{json,png}}");
        }
        await operations.Endpoints.DeleteEndpointAsync(deployed.EndpointName, deleteConfigAndModels: true,
            new Progress<EndpointProgress>(p => log.WriteLine($"[endpoint] {p}")), TimeSpan.FromSeconds(1), cancellationToken: cancellationToken);

        return new Result(trained.Metrics, trained.ModelArtifacts ?? "", predictions, images.Count,
            Path.Combine(localRoot, "training-jobs", started.JobName));
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
