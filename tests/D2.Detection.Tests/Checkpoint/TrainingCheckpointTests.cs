using D2.Detection.Checkpoint;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Checkpoint;

public class TrainingCheckpointTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("d2-training-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    [Test]
    public void Training_state_round_trips_model_optimizer_iteration_and_scheduler()
    {
        using var scope = NewDisposeScope();
        var trained = DetectionCheckpointerTests.SmallNet(3);
        var momentum = new Dictionary<string, Tensor> { ["conv1.weight.momentum_buffer"] = randn(4, 3, 3, 3), ["step"] = tensor(5000L) };
        const string scheduler = """{"base_lrs":[0.02],"last_epoch":5000}""";

        var path = TrainingCheckpoint.Save(_folder, TrainingCheckpoint.PeriodicName(4999), trained, momentum, 4999, scheduler,
            new Dictionary<string, string> { ["git_revision"] = "abc123" });

        Assert.That(path, Is.EqualTo(Path.Combine(_folder, "model_0004999.safetensors")));
        Assert.That(File.ReadAllText(Path.Combine(_folder, "last_checkpoint")), Is.EqualTo("model_0004999.safetensors"));
        Assert.That(TrainingCheckpoint.HasCheckpoint(_folder), Is.True);
        Assert.That(TrainingCheckpoint.GetLastCheckpoint(_folder), Is.EqualTo(path));

        var resumed = DetectionCheckpointerTests.SmallNet(4);
        var state = TrainingCheckpoint.Load(path, resumed);

        var input = randn(1, 3, 6, 6);
        Assert.That(DetectionCheckpointerTests.Identical(resumed.call(input), trained.call(input)), Is.True);
        Assert.That(state.Model.IsComplete, Is.True, state.Model.ToString());
        Assert.That(state.Iteration, Is.EqualTo(4999));
        Assert.That(state.SchedulerState, Is.EqualTo(scheduler));
        Assert.That(state.Metadata, Is.EqualTo(new Dictionary<string, string> { ["git_revision"] = "abc123" }));
        Assert.That(state.Optimizer.Keys, Is.EquivalentTo(momentum.Keys));
        foreach (var (name, value) in momentum)
            Assert.That(DetectionCheckpointerTests.Identical(state.Optimizer[name], value), Is.True, name);
    }

    [Test]
    public void Training_checkpoint_serves_as_model_weights_like_a_detectron2_pth()
    {
        using var scope = NewDisposeScope();
        var trained = DetectionCheckpointerTests.SmallNet(5);
        var path = TrainingCheckpoint.Save(_folder, "model_final", trained, new Dictionary<string, Tensor> { ["m"] = ones(2) }, 99);
        var fresh = DetectionCheckpointerTests.SmallNet(6);

        var report = DetectionCheckpointer.Load(fresh, path);

        var input = randn(1, 3, 5, 5);
        Assert.That(report.IsComplete, Is.True, report.ToString());
        Assert.That(DetectionCheckpointerTests.Identical(fresh.call(input), trained.call(input)), Is.True);
    }

    [Test]
    public void Training_checkpoint_refuses_plain_weights_and_reserved_metadata()
    {
        using var scope = NewDisposeScope();
        var model = DetectionCheckpointerTests.SmallNet(7);
        var weights = Path.Combine(_folder, "weights.safetensors");
        DetectionCheckpointer.Save(model, weights);

        Assert.That(Assert.Throws<CheckpointFormatException>(() => TrainingCheckpoint.Load(weights, model))!.Message,
            Does.Contain(weights).And.Contain("not a training checkpoint"));
        Assert.Throws<ArgumentException>(() => TrainingCheckpoint.Save(_folder, "x", model, null, 0, metadata: new Dictionary<string, string> { ["iteration"] = "1" }));
        Assert.That(TrainingCheckpoint.GetLastCheckpoint(_folder), Is.Null);
    }

    [Test]
    public void Periodic_checkpointer_follows_detectron2s_schedule_and_keeps_the_newest()
    {
        var written = new List<string>();
        var checkpointer = new PeriodicCheckpointer(period: 3, maxIter: 10, maxToKeep: 2);

        for (var iteration = 0L; iteration < 10; iteration++)
            checkpointer.Step(iteration, name =>
            {
                var path = Path.Combine(_folder, name + TrainingCheckpoint.Extension);
                File.WriteAllText(path, name);
                written.Add(name);
                return path;
            });

        Assert.That(written, Is.EqualTo(new[] { "model_0000002", "model_0000005", "model_0000008", "model_final" }));
        Assert.That(Directory.GetFiles(_folder).Select(Path.GetFileName), Is.EquivalentTo(new[]
        {
            "model_0000005.safetensors", "model_0000008.safetensors", "model_final.safetensors",
        }));
    }
}
