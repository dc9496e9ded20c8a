namespace D2.Trainer.Tests;

/// <summary>
/// `d2 train` end to end as a process, on a tiny synthetic dataset and a tiny variant of the small CPU config:
/// the output folder's contents, resume after a finished (or killed) run, and the exit-2 errors.
/// </summary>
[NonParallelizable]
public class TrainCommandTests
{
    static readonly string[] TinyOpts =
    [
        "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64", "MODEL.ROI_MASK_HEAD.CONV_DIM", "32",
        "MODEL.RPN.BATCH_SIZE_PER_IMAGE", "32", "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE", "32",
        "INPUT.MIN_SIZE_TRAIN", "(120,)", "INPUT.MAX_SIZE_TRAIN", "160", "INPUT.MIN_SIZE_TEST", "120", "INPUT.MAX_SIZE_TEST", "160",
        "SOLVER.IMS_PER_BATCH", "2", "SOLVER.WARMUP_ITERS", "2", "SOLVER.STEPS", "(100,)", "SOLVER.CHECKPOINT_PERIOD", "2",
        "TEST.EVAL_PERIOD", "0", "DATALOADER.NUM_WORKERS", "1",
    ];

    string _root = "";

    [OneTimeSetUp]
    public void CreateDataset()
    {
        _root = Directory.CreateTempSubdirectory("d2-train-").FullName;
        var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", Path.Combine(_root, "datasets", "balloon"), "--train", "6", "--val", "3", "--size", "160x120");
        Assert.That(exit, Is.Zero, stderr);
    }

    [OneTimeTearDown]
    public void DeleteDataset() => Directory.Delete(_root, recursive: true);

    (int Exit, string Stdout, string Stderr) Train(string output, int maxIter, params string[] extra) =>
        D2Process.Run(["train", "--config-file", "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml", "--output", output,
            "--datasets-root", Path.Combine(_root, "datasets"), .. extra, "--opts", .. TinyOpts, "SOLVER.MAX_ITER", maxIter.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    [Test]
    public void Train_writes_the_artifact_metrics_checkpoints_and_evaluation_then_resumes_where_it_stopped()
    {
        var output = Path.Combine(_root, "run");
        var (exit, stdout, stderr) = Train(output, 4);
        Assert.That(exit, Is.Zero, stderr + stdout);
        foreach (var file in new[] { "config.yaml", "metrics.json", "evaluation.json", "last_checkpoint", "model_0000001.safetensors",
                     "model_0000003.safetensors", "model_final.safetensors", "model/model_final.safetensors", "model/config.yaml", "model/metadata.json",
                     "inference/coco_instances_results.json" })
            Assert.That(File.Exists(Path.Combine(output, file)), Is.True, file);
        Assert.That(Directory.EnumerateFiles(output, "events.out.tfevents.*"), Is.Not.Empty);
        Assert.That(File.ReadAllText(Path.Combine(output, "metrics.json")), Does.Contain("\"iteration\": 3").And.Contain("segm/AP50"));
        Assert.That(Directory.EnumerateFiles(output, "*.tmp*", SearchOption.AllDirectories), Is.Empty, "no temporary files left");

        // A longer schedule continues from the last checkpoint (iteration 3) with the same numbering.
        (exit, stdout, stderr) = Train(output, 6, "--resume");
        Assert.That(exit, Is.Zero, stderr + stdout);
        Assert.That(stdout, Does.Contain("Starting training from iteration 4"));
        Assert.That(File.Exists(Path.Combine(output, "model_0000005.safetensors")), Is.True);
        Assert.That(File.ReadAllText(Path.Combine(output, "metrics.json")), Does.Contain("\"iteration\": 5"));
    }

    [Test]
    public void Killed_run_resumes_from_its_last_checkpoint_with_the_same_numbering()
    {
        var output = Path.Combine(_root, "killed");
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[Path.Combine(TestContext.CurrentContext.TestDirectory, "d2.dll"), "train", "--config-file", "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
                     "--output", output, "--datasets-root", Path.Combine(_root, "datasets"), "--opts", .. TinyOpts, "SOLVER.MAX_ITER", "200"])
            info.ArgumentList.Add(arg);
        using (var process = System.Diagnostics.Process.Start(info)!)
        {
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            // Kill it (SIGKILL: no chance to clean up) once the second checkpoint (iteration 3) is on disk.
            var second = Path.Combine(output, "model_0000003.safetensors");
            Assert.That(SpinWait.SpinUntil(() => File.Exists(second) || process.HasExited, TimeSpan.FromMinutes(2)), Is.True, "no checkpoint within 2 minutes");
            Assert.That(process.HasExited, Is.False, "the run ended before it could be killed");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        var last = File.ReadAllText(Path.Combine(output, "last_checkpoint")).Trim();
        Assert.That(last, Does.Match(@"^model_\d{7}\.safetensors$"));
        var resumedFrom = int.Parse(last[6..13], System.Globalization.CultureInfo.InvariantCulture);

        var (exit, stdout, stderr) = Train(output, resumedFrom + 3, "--resume");
        Assert.That(exit, Is.Zero, stderr + stdout);
        Assert.That(stdout, Does.Contain($"Resuming from").And.Contain($"Starting training from iteration {resumedFrom + 1}"));
        Assert.That(File.Exists(Path.Combine(output, "model", "model_final.safetensors")), Is.True);
    }

    [Test]
    public void Predict_runs_on_the_trained_artifact()
    {
        var output = Path.Combine(_root, "for-predict");
        var (exit, stdout, stderr) = Train(output, 2);
        Assert.That(exit, Is.Zero, stderr + stdout);
        var image = Directory.EnumerateFiles(Path.Combine(_root, "datasets", "balloon", "val"), "*.jpg").First();
        (exit, stdout, stderr) = D2Process.Run("predict", "--model", Path.Combine(output, "model"), "--image", image);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("\"image_size\"").And.Contain("\"pred_boxes\""));
    }

    [TestCase("DATASETS.TRAIN", "('nope_train',)", "nope_train")]
    [TestCase("SOLVER.MAX_ITERATIONS", "5", "SOLVER.MAX_ITERATIONS")]
    public void Bad_dataset_name_or_config_key_exits_2_naming_it(string key, string value, string named)
    {
        var (exit, _, stderr) = D2Process.Run("train", "--config-file", "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml", "--output", Path.Combine(_root, "bad"),
            "--datasets-root", Path.Combine(_root, "datasets"), "--opts", key, value);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(named));
    }

    [Test]
    public void Missing_image_file_exits_2_naming_the_file()
    {
        var datasets = Path.Combine(_root, "broken");
        CopyDirectory(Path.Combine(_root, "datasets"), datasets);
        var victim = Directory.EnumerateFiles(Path.Combine(datasets, "balloon", "train"), "*.jpg").Order(StringComparer.Ordinal).First();
        File.Delete(victim);
        var (exit, _, stderr) = D2Process.Run("train", "--config-file", "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml", "--output", Path.Combine(_root, "broken-out"),
            "--datasets-root", datasets, "--opts", "SOLVER.MAX_ITER", "2");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(Path.GetFileName(victim)));
    }

    static void CopyDirectory(string source, string target)
    {
        foreach (var directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(directory.Replace(source, target, StringComparison.Ordinal));
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            File.Copy(file, file.Replace(source, target, StringComparison.Ordinal));
    }
}
