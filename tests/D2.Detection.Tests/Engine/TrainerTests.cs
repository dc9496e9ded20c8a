using System.Text.Json;
using D2.Detection.Checkpoint;
using D2.Detection.Engine;
using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Engine;

/// <summary>The trainer end to end on a tiny Mask R-CNN (CPU, deterministic): outputs, resume, MODEL.WEIGHTS.</summary>
public class TrainerTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("d2-trainer-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    static Dictionary<string, Tensor> Weights(nn.Module model) =>
        model.state_dict().ToDictionary(p => p.Key, p => p.Value.detach().clone().DetachFromDisposeScope());

    static bool Identical(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Test]
    public void Training_writes_checkpoints_metrics_events_console_lines_and_the_final_evaluation()
    {
        var output = Path.Combine(_folder, "run");
        var cfg = TrainingFixtures.TinyMaskRCNNConfig(output, "SOLVER.MAX_ITER", "4", "SOLVER.CHECKPOINT_PERIOD", "2");
        manual_seed(5);
        using var model = ModelBuilder.Build(cfg);
        var log = new StringWriter();
        var evaluatedInTraining = new List<bool>();
        Trainer? trainer = null;
        using (trainer = new Trainer(cfg, model, TrainingFixtures.Batches(() => trainer!.StartIter), m =>
               {
                   evaluatedInTraining.Add(m.training);
                   return new Dictionary<string, IReadOnlyDictionary<string, double>>
                   {
                       ["bbox"] = new Dictionary<string, double> { ["AP"] = 12.5, ["AP50"] = 30.0, ["AP-balloon"] = 1.0 },
                   };
               }, log))
        {
            trainer.ResumeOrLoad(resume: false);
            trainer.Train();
        }

        Assert.That(Directory.GetFiles(output, "*.safetensors").Select(Path.GetFileName).Order(),
            Is.EqualTo(new[] { "model_0000001.safetensors", "model_0000003.safetensors", "model_final.safetensors" }));
        Assert.That(File.ReadAllText(Path.Combine(output, "last_checkpoint")), Is.EqualTo("model_final.safetensors"));
        Assert.That(Directory.GetFiles(output, "events.out.tfevents.*"), Has.Length.EqualTo(1));

        var lines = File.ReadAllLines(Path.Combine(output, "metrics.json"));
        Assert.That(lines, Has.Length.EqualTo(2));
        using var metrics = JsonDocument.Parse(lines[0]);
        var keys = metrics.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(keys, Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
        Assert.That(keys, Is.SupersetOf(new[]
        {
            "iteration", "total_loss", "loss_cls", "loss_box_reg", "loss_mask", "loss_rpn_cls", "loss_rpn_loc", "lr", "time", "data_time",
            "rank_data_time", "eta_seconds", "rpn/num_pos_anchors", "rpn/num_neg_anchors", "roi_head/num_fg_samples", "roi_head/num_bg_samples",
            "fast_rcnn/cls_accuracy", "mask_rcnn/accuracy",
        }));
        Assert.That(metrics.RootElement.GetProperty("iteration").GetInt64(), Is.EqualTo(3));
        // Iteration 3 is past the warmup (2) and the step at 3: BASE_LR x 0.1.
        Assert.That(metrics.RootElement.GetProperty("lr").GetDouble(), Is.EqualTo(0.001).Within(1e-15));
        Assert.That(lines[1], Is.EqualTo("""{"bbox/AP": 12.5, "bbox/AP-balloon": 1.0, "bbox/AP50": 30.0, "iteration": 4}"""));

        Assert.That(evaluatedInTraining, Is.EqualTo(new[] { false }), "one evaluation, after training, in eval mode");
        Assert.That(model.training, Is.True, "the model goes back to training mode");
        var text = log.ToString();
        Assert.That(text, Does.Contain("Starting training from iteration 0"));
        Assert.That(text, Does.Match(@"(?m)^ eta: 0:00:00  iter: 3  total_loss: \S+  loss_cls: \S+  loss_box_reg: \S+  loss_mask: \S+  loss_rpn_cls: \S+  loss_rpn_loc: \S+    time: "));
        Assert.That(text, Does.Contain("copypaste: AP,AP50" + Environment.NewLine + "copypaste: 12.5000,30.0000"));
    }

    [Test]
    public void Resuming_after_a_crash_continues_the_numbering_and_reaches_the_uninterrupted_weights()
    {
        Dictionary<string, Tensor> Run(string name, int seed, bool resume, long? crashAt, out long startIter)
        {
            var cfg = TrainingFixtures.TinyMaskRCNNConfig(Path.Combine(_folder, name), "SOLVER.MAX_ITER", "4", "SOLVER.CHECKPOINT_PERIOD", "2");
            manual_seed(seed);
            using var model = ModelBuilder.Build(cfg);
            Trainer? trainer = null;
            using (trainer = new Trainer(cfg, model, TrainingFixtures.Batches(() => trainer!.StartIter, crashAt)))
            {
                trainer.ResumeOrLoad(resume);
                startIter = trainer.StartIter;
                try
                {
                    trainer.Train();
                }
                catch (IOException)
                {
                }
            }
            return Weights(model);
        }

        var uninterrupted = Run("uninterrupted", seed: 21, resume: false, crashAt: null, out _);
        Run("interrupted", seed: 21, resume: false, crashAt: 3, out _);
        var interrupted = Path.Combine(_folder, "interrupted");
        Assert.That(File.ReadAllText(Path.Combine(interrupted, "last_checkpoint")), Is.EqualTo("model_0000001.safetensors"));
        Assert.That(Directory.GetFiles(interrupted).Select(Path.GetFileName), Has.None.StartWith("."), "no temporary file left");

        // Another seed: everything that matters must come from the checkpoint.
        var resumed = Run("interrupted", seed: 99, resume: true, crashAt: null, out var startIter);

        Assert.That(startIter, Is.EqualTo(2));
        Assert.That(resumed.Keys, Is.EquivalentTo(uninterrupted.Keys));
        foreach (var (name, value) in uninterrupted)
            Assert.That(Identical(resumed[name], value), Is.True, name);
        Assert.That(File.ReadAllText(Path.Combine(interrupted, "last_checkpoint")), Is.EqualTo("model_final.safetensors"));
        var iterations = File.ReadAllLines(Path.Combine(interrupted, "metrics.json"))
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("iteration").GetInt64());
        // The crashed run's last write: its scalars of iteration 2, and the eta the printer put at iteration 3 (as Detectron2
        // does); then the resumed run's line at its last iteration.
        Assert.That(iterations, Is.EqualTo(new long[] { 2, 3, 3 }));
    }

    /// <summary>Cancels the stop token after the given iteration, as a SIGTERM arriving during the next one would.</summary>
    sealed class StopAfter(long iteration, CancellationTokenSource stop) : HookBase
    {
        public override void AfterStep()
        {
            if (Trainer.Iter == iteration)
                stop.Cancel();
        }
    }

    [Test]
    public void A_stop_request_checkpoints_the_last_finished_iteration_and_a_resume_reaches_the_uninterrupted_weights()
    {
        Dictionary<string, Tensor> Run(string name, int seed, bool resume, long? stopAfter, out TrainingRunResult result)
        {
            var cfg = TrainingFixtures.TinyMaskRCNNConfig(Path.Combine(_folder, name), "SOLVER.MAX_ITER", "4", "SOLVER.CHECKPOINT_PERIOD", "100");
            manual_seed(seed);
            using var model = ModelBuilder.Build(cfg);
            using var stop = new CancellationTokenSource();
            Trainer? trainer = null;
            var evaluations = 0;
            using (trainer = new Trainer(cfg, model, TrainingFixtures.Batches(() => trainer!.StartIter), _ =>
                   {
                       evaluations++;
                       return new Dictionary<string, IReadOnlyDictionary<string, double>>();
                   }))
            {
                if (stopAfter is { } k)
                    trainer.Loop.RegisterHooks([new StopAfter(k, stop)]);
                trainer.ResumeOrLoad(resume);
                result = trainer.Train(stop.Token);
            }
            Assert.That(evaluations, Is.EqualTo(result == TrainingRunResult.Completed ? 1 : 0), "no final evaluation after a stop");
            return Weights(model);
        }

        var uninterrupted = Run("uninterrupted", seed: 4, resume: false, stopAfter: null, out var first);
        Assert.That(first, Is.EqualTo(TrainingRunResult.Completed));
        Run("stopped", seed: 4, resume: false, stopAfter: 1, out var stopped);
        Assert.That(stopped, Is.EqualTo(TrainingRunResult.Stopped));
        var folder = Path.Combine(_folder, "stopped");
        Assert.That(File.ReadAllText(Path.Combine(folder, "last_checkpoint")), Is.EqualTo("model_0000001.safetensors"));
        Assert.That(File.Exists(Path.Combine(folder, "model_final.safetensors")), Is.False);

        var resumed = Run("stopped", seed: 77, resume: true, stopAfter: null, out var last);
        Assert.That(last, Is.EqualTo(TrainingRunResult.Completed));
        foreach (var (name, value) in uninterrupted)
            Assert.That(Identical(resumed[name], value), Is.True, name);
    }

    [Test]
    public void A_stop_seen_by_the_final_evaluation_keeps_model_final_and_reports_it()
    {
        var cfg = TrainingFixtures.TinyMaskRCNNConfig(Path.Combine(_folder, "run"), "SOLVER.MAX_ITER", "2", "SOLVER.CHECKPOINT_PERIOD", "100");
        manual_seed(3);
        using var model = ModelBuilder.Build(cfg);
        using var stop = new CancellationTokenSource();
        Trainer? trainer = null;
        using (trainer = new Trainer(cfg, model, TrainingFixtures.Batches(() => trainer!.StartIter), _ =>
               {
                   stop.Cancel(); // SIGTERM during the evaluation's inference loop
                   stop.Token.ThrowIfCancellationRequested();
                   return null;
               }))
        {
            trainer.ResumeOrLoad(resume: false);
            Assert.That(trainer.Train(stop.Token), Is.EqualTo(TrainingRunResult.EvaluationStopped));
        }
        Assert.That(File.ReadAllText(Path.Combine(_folder, "run", "last_checkpoint")), Is.EqualTo("model_final.safetensors"));
    }

    [Test]
    public void Without_a_checkpoint_MODEL_WEIGHTS_is_loaded_and_training_starts_at_zero()
    {
        var weightsPath = Path.Combine(_folder, "pretrained.safetensors");
        var cfg = TrainingFixtures.TinyMaskRCNNConfig(Path.Combine(_folder, "run"), "MODEL.WEIGHTS", weightsPath);
        manual_seed(1);
        using (var pretrained = ModelBuilder.Build(cfg))
            DetectionCheckpointer.Save(pretrained, weightsPath);
        using var expected = ModelBuilder.Build(cfg);
        DetectionCheckpointer.Load(expected, weightsPath);
        manual_seed(2);
        using var model = ModelBuilder.Build(cfg);
        using var trainer = new Trainer(cfg, model, TrainingFixtures.Batches(() => 0));

        trainer.ResumeOrLoad(resume: true);

        Assert.That(trainer.StartIter, Is.EqualTo(0));
        var loaded = Weights(model);
        foreach (var (name, value) in Weights(expected))
            Assert.That(Identical(loaded[name], value), Is.True, name);
    }

    [Test]
    public void A_last_checkpoint_naming_a_missing_file_fails_clearly()
    {
        var output = Path.Combine(_folder, "run");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, TrainingCheckpoint.LastCheckpointFile), "model_0000999.safetensors");
        var cfg = TrainingFixtures.TinyMaskRCNNConfig(output);
        using var model = ModelBuilder.Build(cfg);
        using var trainer = new Trainer(cfg, model, TrainingFixtures.Batches(() => 0));
        Assert.That(() => trainer.ResumeOrLoad(resume: true),
            Throws.InstanceOf<FileNotFoundException>().With.Message.Contains("model_0000999.safetensors"));
    }
}
