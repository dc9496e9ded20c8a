using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;
using D2.Operations.Pipeline;
using D2.Operations.Tests.Steps;

namespace D2.Operations.Tests.Pipeline;

/// <summary>The follower on a real local SageMaker whose trainer (MetricTrainer) prints CommonMetricPrinter lines.</summary>
[Parallelizable(ParallelScope.All)]
public class TrainingFollowerTests
{
    [Test]
    public async Task Follows_statuses_and_the_logs_iteration_loss_and_eta()
    {
        await using var local = await OperationsHarness.StartAsync();
        var profile = local.Profile("ok");
        profile = profile with { HyperParameters = new Dictionary<string, string>(profile.HyperParameters) { ["opts"] = "SOLVER.BASE_LR 0.01 SOLVER.MAX_ITER 40" } };
        var job = await local.Context.Training.StartTrainingAsync(profile);
        var progress = new ProgressLog<TrainingSnapshot>();

        var result = await new TrainingFollower(local.Context).FollowAsync(job.JobName, progress,
            TrainingFollower.LocalLogPath(local.Root, job.JobName), OperationsHarness.Poll);

        Assert.That(result.Status, Is.EqualTo(TrainingJobStatus.Completed));
        var last = progress.Items[^1];
        Assert.That((last.Status, last.Iteration, last.MaxIter, last.TotalLoss, last.Eta),
            Is.EqualTo((TrainingJobStatus.Completed, 40, 40, 0.5, TimeSpan.Zero)));
        Assert.That(progress.Items.Select(p => p.SecondaryStatus), Does.Contain(SecondaryStatus.Training).And.Contain(SecondaryStatus.Uploading));
        Assert.That(last.ToString(), Does.Contain("iter 40/40").And.Contain("total_loss 0.500"));
    }

    [Test]
    public async Task Failed_job_throws_with_its_failure_reason()
    {
        await using var local = await OperationsHarness.StartAsync();
        var job = await local.Context.Training.StartTrainingAsync(local.Profile("fail"));
        var error = await Assert.ThrowsAsync<TrainingJobFailedException>(() => new TrainingFollower(local.Context)
            .FollowAsync(job.JobName, new ProgressLog<TrainingSnapshot>(), TrainingFollower.LocalLogPath(local.Root, job.JobName), OperationsHarness.Poll));
        Assert.That(error!.Message, Does.Contain(MetricTrainer.FailureText));
    }

    [TestCase("SOLVER.MAX_ITER 300 MODEL.DEVICE cpu", 300)]
    [TestCase("SOLVER.BASE_LR 0.01", null)]
    public void MaxIter_comes_from_opts(string opts, int? expected) =>
        Assert.That(TrainingFollower.MaxIterFromOpts(new Dictionary<string, string> { ["opts"] = opts }), Is.EqualTo(expected));
}
