using System.Globalization;
using System.Text.Json;

namespace D2.Trainer.Tests.SageMaker;

/// <summary>
/// The published trainer as SageMaker runs it: a separate process over an /opt/ml-shaped temporary tree with a tiny
/// synthetic dataset in its channels; what lands in model/, output/data/ and checkpoints/, SIGTERM and resume, the
/// failure file, and SageMaker's metric regexes on the real log.
/// </summary>
[NonParallelizable]
public class TrainingContainerTests
{
    const string Config = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml";

    // A tiny variant of the small CPU config (the same as TrainCommandTests), written as the opts hyperparameter.
    const string TinyOpts = "MODEL.FPN.OUT_CHANNELS 32 MODEL.ROI_BOX_HEAD.FC_DIM 64 MODEL.ROI_MASK_HEAD.CONV_DIM 32 "
        + "MODEL.RPN.BATCH_SIZE_PER_IMAGE 32 MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE 32 INPUT.MIN_SIZE_TRAIN (120,) INPUT.MAX_SIZE_TRAIN 160 "
        + "INPUT.MIN_SIZE_TEST 120 INPUT.MAX_SIZE_TEST 160 SOLVER.IMS_PER_BATCH 2 SOLVER.WARMUP_ITERS 2 SOLVER.STEPS (100,) "
        + "TEST.EVAL_PERIOD 0 DATALOADER.NUM_WORKERS 1";

    string _data = "";

    [OneTimeSetUp]
    public void CreateDataset()
    {
        _data = Directory.CreateTempSubdirectory("d2-sm-data-").FullName;
        var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", _data, "--train", "6", "--val", "3", "--size", "160x120");
        Assert.That(exit, Is.Zero, stderr);
    }

    [OneTimeTearDown]
    public void DeleteDataset() => Directory.Delete(_data, recursive: true);

    /// <summary>training: the VIA json; validation: the COCO json (both formats, one annotation file per channel).</summary>
    TrainingJobTree BalloonJob(string opts)
    {
        var job = new TrainingJobTree();
        job.AddChannel("training", Path.Combine(_data, "train"), "annotations.json");
        job.AddChannel("validation", Path.Combine(_data, "val"), "via_region_data.json");
        job.WriteHyperparameters(new Dictionary<string, string> { ["config-file"] = Config, ["opts"] = $"{TinyOpts} {opts}", ["seed"] = "3" });
        return job;
    }

    [Test]
    public void A_job_trains_and_writes_model_output_data_and_checkpoints_with_parsable_metrics()
    {
        using var job = BalloonJob("SOLVER.MAX_ITER 4 SOLVER.CHECKPOINT_PERIOD 2");
        var (exit, stdout, stderr) = job.Run();
        Assert.That(exit, Is.Zero, stdout + stderr);
        Assert.That(job.FailureText, Is.Empty);

        foreach (var file in new[] { "model/model_final.safetensors", "model/config.yaml", "model/metadata.json",
                     "output/data/metrics.json", "output/data/evaluation.json", "output/data/config.yaml", "output/data/inference/coco_instances_results.json",
                     "checkpoints/last_checkpoint", "checkpoints/model_0000001.safetensors", "checkpoints/model_0000003.safetensors", "checkpoints/model_final.safetensors" })
            Assert.That(File.Exists(job.Path(file)), Is.True, file);
        Assert.That(Directory.EnumerateFiles(job.Path("output/data"), "events.out.tfevents.*"), Is.Not.Empty);
        Assert.That(Directory.EnumerateFiles(job.Path("model")).Select(Path.GetFileName), Is.EquivalentTo(new[] { "model_final.safetensors", "config.yaml", "metadata.json" }),
            "only the artifact goes into model.tar.gz");
        Assert.That(Directory.EnumerateFiles(job.BaseDirectory, "*.tmp*", SearchOption.AllDirectories), Is.Empty);

        using var metadata = JsonDocument.Parse(File.ReadAllText(job.Path("model/metadata.json")));
        Assert.That(metadata.RootElement.GetRawText(), Does.Contain("d2-e2e-job").And.Contain("balloon"));
        var config = File.ReadAllText(job.Path("model/config.yaml"));
        Assert.That(config, Does.Contain("training").And.Contain("validation").And.Contain("SEED: 3"));
        Assert.That(stdout, Does.Contain("using the 'training' channel instead"));

        // SageMaker's MetricDefinitions, applied to the real log as SageMaker applies them.
        var lines = stdout.Split('\n');
        var values = TrainerMetrics.FinalValues(lines);
        Assert.That(values.Keys, Is.SupersetOf(new[] { "total_loss", "loss_cls", "loss_box_reg", "loss_mask", "loss_rpn_cls", "loss_rpn_loc", "lr", "time", "data_time", "bbox/AP", "bbox/AP50", "segm/AP" }));
        using var evaluation = JsonDocument.Parse(File.ReadAllText(job.Path("output/data/evaluation.json")));
        foreach (var task in new[] { "bbox", "segm" })
            foreach (var metric in new[] { "AP", "AP50", "AP75" })
                Assert.That(values[$"{task}/{metric}"], Is.EqualTo(evaluation.RootElement.GetProperty(task).GetProperty(metric).GetDouble()).Within(5e-5), $"{task}/{metric}");
        // The printer's last line is iteration 3; its lr is metrics.json's lr there (5 significant digits).
        // (metrics.json is Python's json with NaN, so the value is read with a regex rather than a JSON parser.)
        var lastLr = File.ReadAllLines(job.Path("output/data/metrics.json"))
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, "\"lr\": ([-+0-9.eE]+)")).Last(m => m.Success).Groups[1].Value;
        Assert.That(values["lr"], Is.EqualTo(double.Parse(lastLr, CultureInfo.InvariantCulture)).Within(1e-3).Percent);
        Assert.That(values["total_loss"], Is.GreaterThan(0).And.LessThan(100));
    }

    [Test]
    public void Sigterm_saves_a_checkpoint_and_the_model_and_exits_cleanly_and_a_rerun_resumes_from_it()
    {
        using var job = BalloonJob("SOLVER.MAX_ITER 5000 SOLVER.CHECKPOINT_PERIOD 5000");
        long stoppedAfter;
        using (var running = job.Start())
        {
            Assert.That(running.WaitForLine(line => line.Contains(" iter: 19 ", StringComparison.Ordinal), TimeSpan.FromMinutes(2)), Is.True,
                "no training line within 2 minutes:\n" + running.Stdout + running.Stderr);
            running.Terminate();
            var started = DateTime.UtcNow;
            var exit = running.WaitForExit(TimeSpan.FromSeconds(100));
            Assert.That(exit, Is.Zero, running.Stdout + running.Stderr);
            Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(30)), "well inside SageMaker's 120 s");
            Assert.That(running.Stdout, Does.Contain("Received SIGTERM").And.Contain("Training job stopped"));
            Assert.That(job.FailureText, Is.Empty);
            var last = File.ReadAllText(job.Path("checkpoints/last_checkpoint")).Trim();
            Assert.That(last, Does.Match(@"^model_\d{7}\.safetensors$"));
            Assert.That(File.Exists(job.Path($"checkpoints/{last}")), Is.True);
            stoppedAfter = long.Parse(last[6..13], CultureInfo.InvariantCulture);
            Assert.That(stoppedAfter, Is.GreaterThanOrEqualTo(19));
            Assert.That(File.Exists(job.Path("model/model_final.safetensors")) && File.Exists(job.Path("model/metadata.json")), Is.True,
                "the current weights are in /opt/ml/model for SageMaker to upload");
        }

        // SageMaker restores /opt/ml/checkpoints for the restarted (spot) job: it continues at the next iteration.
        job.WriteHyperparameters(new Dictionary<string, string>
        {
            ["config-file"] = Config, ["opts"] = $"{TinyOpts} SOLVER.MAX_ITER {stoppedAfter + 3} SOLVER.CHECKPOINT_PERIOD 5000",
        });
        var (rerun, stdout, stderr) = job.Run();
        Assert.That(rerun, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.Contain("Resuming from").And.Contain($"Starting training from iteration {stoppedAfter + 1}"));
        Assert.That(File.Exists(job.Path("checkpoints/model_final.safetensors")), Is.True);
    }

    [Test]
    public void Eval_only_with_a_local_config_file_and_weights_from_a_channel_writes_the_evaluation()
    {
        using var job = new TrainingJobTree();
        job.AddChannel("validation", Path.Combine(_data, "val"), "via_region_data.json");
        var modelChannel = job.Path("input/data/model");
        Directory.CreateDirectory(Path.Combine(modelChannel, "configs"));
        var yaml = Path.Combine(modelChannel, "configs", "tiny.yaml");
        File.WriteAllText(yaml, """
            _BASE_: "model-zoo://Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml"
            MODEL:
              FPN:
                OUT_CHANNELS: 32
              ROI_BOX_HEAD:
                FC_DIM: 64
              ROI_MASK_HEAD:
                CONV_DIM: 32
            INPUT:
              MIN_SIZE_TEST: 120
              MAX_SIZE_TEST: 160
            """);
        using (var model = D2.Detection.Modeling.ModelBuilder.Build(D2.Detection.Config.ConfigLoader.Load(yaml)))
            D2.Detection.Checkpoint.DetectionCheckpointer.Save(model, Path.Combine(modelChannel, "model_final.safetensors"));
        job.AddChannel("model", modelChannel); // declares it in inputdataconfig.json
        // Written for the real container: /opt/ml paths are moved under SAGEMAKER_BASE_DIR.
        job.WriteHyperparameters(new Dictionary<string, string>
        {
            ["local-config-file"] = "configs/tiny.yaml", ["eval-only"] = "true", ["opts"] = "MODEL.WEIGHTS /opt/ml/input/data/model/model_final.safetensors",
        });
        var (exit, stdout, stderr) = job.Run();
        Assert.That(exit, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.Contain("Evaluation job finished").And.Contain("[eval] validation bbox/AP="));
        using var evaluation = JsonDocument.Parse(File.ReadAllText(job.Path("output/data/evaluation.json")));
        Assert.That(evaluation.RootElement.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "bbox", "segm" }));
        Assert.That(Directory.EnumerateFileSystemEntries(job.Path("model")), Is.Empty, "evaluation writes no model");
    }

    [Test]
    public void A_bad_config_file_fails_with_a_reason_that_names_it()
    {
        using var job = BalloonJob("SOLVER.MAX_ITER 1");
        job.WriteHyperparameters(new Dictionary<string, string> { ["config-file"] = "COCO-Detection/no_such_model.yaml" });
        var (exit, stdout, stderr) = job.Run();
        Assert.That(exit, Is.EqualTo(2), stdout + stderr);
        Assert.That(job.FailureText, Does.StartWith("ClientError:").And.Contain("config-file").And.Contain("COCO-Detection/no_such_model.yaml")
            .And.Contain("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml"), "lists the model zoo");
        Assert.That(stderr, Does.Contain("no_such_model"));
    }

    [Test]
    public void A_missing_training_channel_fails_with_a_reason_that_names_it()
    {
        using var job = new TrainingJobTree();
        job.WriteHyperparameters(new Dictionary<string, string> { ["config-file"] = Config, ["opts"] = "SOLVER.MAX_ITER 1" });
        var (exit, stdout, stderr) = job.Run();
        Assert.That(exit, Is.EqualTo(2), stdout + stderr);
        Assert.That(job.FailureText, Does.Contain("no training data").And.Contain("'training' channel").And.Contain("balloon_train"));
    }

    [Test]
    public void Unreadable_annotations_fail_with_a_reason_that_names_the_file()
    {
        using var job = new TrainingJobTree();
        var broken = Directory.CreateTempSubdirectory("d2-broken-").FullName;
        File.WriteAllText(Path.Combine(broken, "via_region_data.json"), """{"balloon_0000.jpg": {"filename": "balloon_0000.jpg", "regions": [""");
        job.AddChannel("training", broken);
        Directory.Delete(broken, recursive: true);
        job.WriteHyperparameters(new Dictionary<string, string> { ["config-file"] = Config, ["opts"] = "SOLVER.MAX_ITER 1" });
        var (exit, stdout, stderr) = job.Run();
        Assert.That(exit, Is.EqualTo(2), stdout + stderr);
        Assert.That(job.FailureText, Does.StartWith("ClientError:").And.Contain("via_region_data.json").And.Contain("not valid JSON"));
    }

    [Test]
    public void A_cuda_config_on_a_cpu_host_fails_with_the_fix()
    {
        using var job = BalloonJob("SOLVER.MAX_ITER 1");
        job.WriteHyperparameters(new Dictionary<string, string> { ["config-file"] = "COCO-Detection/faster_rcnn_R_50_FPN_1x.yaml" });
        var (exit, stdout, stderr) = job.Run();
        Assert.That(exit, Is.EqualTo(2), stdout + stderr);
        Assert.That(job.FailureText, Does.Contain("MODEL.DEVICE cuda").And.Contain("MODEL.DEVICE cpu"));
    }

    [Test]
    public void Outside_a_job_train_without_a_config_file_says_what_is_missing()
    {
        using var job = new TrainingJobTree(); // no hyperparameters.json
        var (exit, _, stderr) = job.Run();
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--config-file is required").And.Contain("hyperparameters.json"));
    }
}
