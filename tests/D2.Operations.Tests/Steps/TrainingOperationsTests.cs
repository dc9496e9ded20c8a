using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;

namespace D2.Operations.Tests.Steps;

/// <summary>Start, wait and stop against a real local SageMaker running the metric trainer.</summary>
[Parallelizable(ParallelScope.All)]
public class TrainingOperationsTests
{
    [Test]
    public async Task CompletedJobReportsEachTransitionOnceAndReturnsTrainerMetrics()
    {
        await using var local = await OperationsHarness.StartAsync();
        var training = local.Context.Training;

        var started = await training.StartTrainingAsync(local.Profile("ok"));
        Assert.That(started.JobName, Does.Match("^balloon-[0-9]{8}-[0-9]{6}$"));
        Assert.That(started.JobArn, Is.EqualTo($"arn:aws:sagemaker:us-east-1:000000000000:training-job/{started.JobName}"));
        // No image and no registry: the caller's ECR registry (local STS account) and the matrix's arch for ml.m5.
        Assert.That(started.Image, Is.EqualTo("000000000000.dkr.ecr.us-east-1.amazonaws.com/d2-trainer:1.0.0-cpu"));

        var progress = new ProgressLog<TrainingProgress>();
        var result = await training.WaitForTrainingAsync(started.JobName, progress, OperationsHarness.Poll);

        Assert.That(result.Status, Is.EqualTo(TrainingJobStatus.Completed));
        var reports = progress.Items;
        Assert.That(reports.Select(p => (p.SecondaryStatus, p.StatusMessage)), Is.Unique, "each transition (and message) reported once");
        Assert.That(reports.Select(p => p.SecondaryStatus).Distinct(), Is.EqualTo(new[]
        {
            SecondaryStatus.Starting, SecondaryStatus.Downloading, SecondaryStatus.Training, SecondaryStatus.Uploading, SecondaryStatus.Completed,
        }));
        Assert.That(reports[0].Status, Is.EqualTo(TrainingJobStatus.InProgress));
        Assert.That(reports[^1].Status, Is.EqualTo(TrainingJobStatus.Completed));
        Assert.That(reports.All(p => p.JobName == started.JobName && !string.IsNullOrEmpty(p.StatusMessage)), Is.True);

        // The last value of each metric, read by TrainerMetrics' regexes from the trainer's log.
        Assert.That(result.Metrics["total_loss"], Is.EqualTo(0.5));
        Assert.That(result.Metrics["loss_cls"], Is.EqualTo(0.25));
        Assert.That(result.Metrics["lr"], Is.EqualTo(0.01));
        Assert.That(result.Metrics["time"], Is.EqualTo(0.75), "not last_time");
        Assert.That(result.Metrics["bbox/AP"], Is.EqualTo(12.5));
        Assert.That(result.Metrics["bbox/AP50"], Is.EqualTo(30.25));
        Assert.That(result.Metrics, Does.Not.ContainKey("segm/AP"));
        Assert.That(result.ModelArtifacts, Does.StartWith("file:///").And.EndWith($"/{started.JobName}/output/model.tar.gz"));
        Assert.That(result.Description.HyperParameters!["mode"], Is.EqualTo("ok"));
    }

    [Test]
    public async Task FailedJobThrowsWithTheFailureFileText()
    {
        await using var local = await OperationsHarness.StartAsync();
        var started = await local.Context.Training.StartTrainingAsync(local.Profile("fail", prefix: "failing"));

        var error = await Assert.ThrowsAsync<TrainingJobFailedException>(() =>
            local.Context.Training.WaitForTrainingAsync(started.JobName, null, OperationsHarness.Poll));

        Assert.That(error!.FailureReason, Is.EqualTo(MetricTrainer.FailureText));
        Assert.That(error.JobName, Is.EqualTo(started.JobName));
        Assert.That(error.Message, Does.Contain(MetricTrainer.FailureText));
        Assert.That(error.Description.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.Failed));
        Assert.That(TrainingOperations.FinalMetrics(error.Description)["total_loss"], Is.EqualTo(0.9));
    }

    [Test]
    public async Task WaitIsCancellableAndAStoppedJobReturnsStopped()
    {
        await using var local = await OperationsHarness.StartAsync();
        var training = local.Context.Training;
        var started = await training.StartTrainingAsync(local.Profile("long", prefix: "stopping"));

        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
        {
            Assert.That(() => training.WaitForTrainingAsync(started.JobName, null, OperationsHarness.Poll, cancel.Token),
                Throws.InstanceOf<OperationCanceledException>());
        }

        var description = await local.Context.SageMaker.DescribeTrainingJobAsync(started.JobName);
        Assert.That(description.TrainingJobStatus, Is.EqualTo(TrainingJobStatus.InProgress), "cancelling the wait leaves the job running");

        await training.StopTrainingAsync(started.JobName);
        var progress = new ProgressLog<TrainingProgress>();
        var result = await training.WaitForTrainingAsync(started.JobName, progress, OperationsHarness.Poll);

        Assert.That(result.Status, Is.EqualTo(TrainingJobStatus.Stopped));
        Assert.That(result.Description.SecondaryStatus, Is.EqualTo(SecondaryStatus.Stopped));
        Assert.That(progress.Items.Select(p => p.SecondaryStatus), Does.Contain(SecondaryStatus.Stopping));
        Assert.That(result.Metrics["total_loss"], Is.EqualTo(0.9));
    }

    [Test]
    public async Task SpotRequestCarriesWaitLimitAndCheckpointsAndIsAcceptedLocally()
    {
        await using var local = await OperationsHarness.StartAsync();
        var checkpoints = new Uri(Path.Combine(local.Root, "checkpoints")).AbsoluteUri;
        var profile = local.Profile("ok", prefix: "spot") with { Spot = true, MaxRuntimeInSeconds = 3600, CheckpointUri = checkpoints };

        var started = await local.Context.Training.StartTrainingAsync(profile);

        Assert.That(started.Request.EnableManagedSpotTraining, Is.True);
        Assert.That(started.Request.StoppingCondition!.MaxWaitTimeInSeconds, Is.EqualTo(7200));
        Assert.That(started.Request.CheckpointConfig!.S3Uri, Is.EqualTo(checkpoints));
        var result = await local.Context.Training.WaitForTrainingAsync(started.JobName, null, OperationsHarness.Poll);
        Assert.That(result.Description.EnableManagedSpotTraining, Is.True);
        Assert.That(result.Description.CheckpointConfig?.S3Uri, Is.EqualTo(checkpoints));

        var noCheckpoints = await Assert.ThrowsAsync<InvalidProfileException>(() =>
            local.Context.Training.StartTrainingAsync(profile with { CheckpointUri = null }));
        Assert.That(noCheckpoints!.Field, Is.EqualTo("checkpointUri"));
        Assert.That(noCheckpoints.Message, Does.Contain("spot"));
    }
}
