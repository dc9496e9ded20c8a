namespace D2.Trainer.Tests.SageMaker;

/// <summary>
/// A channel holding the same images described twice (COCO annotations.json + VIA via_region_data.json, as
/// `d2 synth-balloons` writes each split) trains with no annotation hyperparameter, choosing COCO and saying so; two
/// different datasets in one channel still need the hyperparameter.
/// </summary>
[NonParallelizable]
public class ChannelChoiceTests
{
    const string TinyOpts = "MODEL.FPN.OUT_CHANNELS 32 MODEL.ROI_BOX_HEAD.FC_DIM 64 MODEL.ROI_MASK_HEAD.CONV_DIM 32 "
        + "MODEL.RPN.BATCH_SIZE_PER_IMAGE 32 MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE 32 INPUT.MIN_SIZE_TRAIN (120,) INPUT.MAX_SIZE_TRAIN 160 "
        + "INPUT.MIN_SIZE_TEST 120 INPUT.MAX_SIZE_TEST 160 SOLVER.IMS_PER_BATCH 1 SOLVER.WARMUP_ITERS 1 SOLVER.STEPS (100,) "
        + "TEST.EVAL_PERIOD 0 DATALOADER.NUM_WORKERS 0 SOLVER.MAX_ITER 1 SOLVER.CHECKPOINT_PERIOD 100";

    string _data = "";

    [OneTimeSetUp]
    public void CreateDataset()
    {
        _data = Directory.CreateTempSubdirectory("d2-channel-").FullName;
        var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", _data, "--train", "2", "--val", "3", "--size", "160x120");
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(Directory.EnumerateFiles(Path.Combine(_data, "train"), "*.json").Select(Path.GetFileName),
            Is.EquivalentTo(new[] { "annotations.json", "via_region_data.json" }), "synth-balloons writes both descriptions");
    }

    [OneTimeTearDown]
    public void DeleteDataset() => Directory.Delete(_data, recursive: true);

    [Test]
    public void The_same_images_in_COCO_and_VIA_train_from_the_COCO_file()
    {
        using var job = new TrainingJobTree();
        job.AddChannel("training", Path.Combine(_data, "train"));
        job.AddChannel("validation", Path.Combine(_data, "val"));
        job.WriteHyperparameters(new Dictionary<string, string> { ["config-file"] = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml", ["opts"] = TinyOpts });
        var (exit, stdout, stderr) = job.Run();
        Assert.That(exit, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.Contain("channel 'training': annotations.json (COCO) and via_region_data.json (VIA) describe the same images; using the COCO file"));
        Assert.That(stdout, Does.Contain("channel 'validation': annotations.json (COCO)"));
        Assert.That(File.Exists(job.Path("model/model_final.safetensors")), Is.True);
    }

    [Test]
    public void Two_different_datasets_in_one_channel_still_need_the_hyperparameter()
    {
        var mixed = Directory.CreateTempSubdirectory("d2-mixed-").FullName;
        try
        {
            // The training split's COCO json (2 images) and the validation split's VIA json (3 images): different datasets.
            foreach (var file in Directory.EnumerateFiles(Path.Combine(_data, "train")).Where(f => !f.EndsWith("via_region_data.json", StringComparison.Ordinal)))
                File.Copy(file, Path.Combine(mixed, Path.GetFileName(file)));
            foreach (var file in Directory.EnumerateFiles(Path.Combine(_data, "val")).Where(f => !f.EndsWith("annotations.json", StringComparison.Ordinal)))
                File.Copy(file, Path.Combine(mixed, Path.GetFileName(file)), overwrite: true);
            using var job = new TrainingJobTree();
            job.AddChannel("training", mixed);
            job.WriteHyperparameters(new Dictionary<string, string> { ["config-file"] = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml", ["opts"] = TinyOpts });
            var (exit, stdout, stderr) = job.Run();
            Assert.That(exit, Is.EqualTo(2), stdout + stderr);
            Assert.That(job.FailureText, Does.StartWith("ClientError:").And.Contain("holds 2 annotation files").And.Contain("training-annotations"));
        }
        finally
        {
            Directory.Delete(mixed, recursive: true);
        }
    }
}
