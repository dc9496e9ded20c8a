using System.Text.Json;
using System.Text.Json.Nodes;

namespace D2.Trainer.Tests.SageMaker;

/// <summary>
/// A SageMaker Ground Truth bounding-box output trains and evaluates in the trainer container: the synthetic balloons'
/// COCO boxes rewritten by the test as augmented manifests (source-ref s3:// keys, a "balloons" label attribute with
/// annotations and image_size, "balloons-metadata" with class-map and type), in the two layouts SageMaker produces:
/// the training channel holds the manifest and the S3 prefix's images/ folder; the validation channel holds only the
/// manifest and its images come in an "images" channel (the aws-samples Detectron2 project's layout).
/// </summary>
[NonParallelizable]
public class GroundTruthManifestTests
{
    const string TinyOpts = "MODEL.FPN.OUT_CHANNELS 32 MODEL.ROI_BOX_HEAD.FC_DIM 64 "
        + "MODEL.RPN.BATCH_SIZE_PER_IMAGE 32 MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE 32 INPUT.MIN_SIZE_TRAIN (120,) INPUT.MAX_SIZE_TRAIN 160 "
        + "INPUT.MIN_SIZE_TEST 120 INPUT.MAX_SIZE_TEST 160 SOLVER.IMS_PER_BATCH 1 SOLVER.WARMUP_ITERS 1 SOLVER.STEPS (100,) "
        + "TEST.EVAL_PERIOD 0 DATALOADER.NUM_WORKERS 0 SOLVER.MAX_ITER 2 SOLVER.CHECKPOINT_PERIOD 100";

    string _data = "";

    [OneTimeSetUp]
    public void CreateDataset()
    {
        _data = Directory.CreateTempSubdirectory("d2-manifest-").FullName;
        var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", _data, "--train", "3", "--val", "2", "--size", "160x120");
        Assert.That(exit, Is.Zero, stderr);
    }

    [OneTimeTearDown]
    public void DeleteDataset() => Directory.Delete(_data, recursive: true);

    /// <summary>Ground Truth's output for a split: one line per COCO image, its boxes as left/top/width/height.</summary>
    static string ManifestOf(string split, string coco, string keyPrefix)
    {
        var root = JsonNode.Parse(File.ReadAllText(coco))!;
        var lines = new List<string>();
        foreach (var image in root["images"]!.AsArray())
        {
            var id = (long)image!["id"]!;
            var boxes = root["annotations"]!.AsArray().Where(a => (long)a!["image_id"]! == id).Select(a => new JsonObject
            {
                ["class_id"] = 0,
                ["left"] = (double)a!["bbox"]![0]!,
                ["top"] = (double)a["bbox"]![1]!,
                ["width"] = (double)a["bbox"]![2]!,
                ["height"] = (double)a["bbox"]![3]!,
            });
            var line = new JsonObject
            {
                ["source-ref"] = $"s3://my-bucket/{keyPrefix}{image["file_name"]}",
                ["balloons"] = new JsonObject
                {
                    ["image_size"] = new JsonArray(new JsonObject { ["width"] = (int)image["width"]!, ["height"] = (int)image["height"]!, ["depth"] = 3 }),
                    ["annotations"] = new JsonArray([.. boxes]),
                },
                ["balloons-metadata"] = new JsonObject
                {
                    ["objects"] = new JsonArray([.. boxes.Select(_ => new JsonObject { ["confidence"] = 0.95 })]),
                    ["class-map"] = new JsonObject { ["0"] = "balloon" },
                    ["type"] = "groundtruth/object-detection",
                    ["human-annotated"] = "yes",
                    ["creation-date"] = "2024-05-01T12:00:00.000000",
                    ["job-name"] = $"labeling-job/balloons-{split}",
                },
            };
            lines.Add(line.ToJsonString());
        }
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>training: manifest + images/ (a copy of s3://my-bucket/gt/train/); validation: manifest only, images in the "images" channel.</summary>
    TrainingJobTree ManifestJob(IReadOnlyDictionary<string, string> hyperparameters)
    {
        var job = new TrainingJobTree();
        var train = Path.Combine(_data, "train");
        var val = Path.Combine(_data, "val");
        var staged = Directory.CreateTempSubdirectory("d2-manifest-channels-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(staged, "training"));
            Directory.CreateDirectory(Path.Combine(staged, "validation"));
            File.WriteAllText(Path.Combine(staged, "training", "output.manifest"), ManifestOf("train", Path.Combine(train, "annotations.json"), "gt/train/images/"));
            File.WriteAllText(Path.Combine(staged, "validation", "output.manifest"), ManifestOf("val", Path.Combine(val, "annotations.json"), "gt/val/images/"));
            job.AddChannel("training", Path.Combine(staged, "training"));
            job.AddChannel("validation", Path.Combine(staged, "validation"));
            job.AddChannel("images", val, "annotations.json", "via_region_data.json");
        }
        finally
        {
            Directory.Delete(staged, recursive: true);
        }
        var images = job.Path("input/data/training/images");
        Directory.CreateDirectory(images);
        foreach (var jpeg in Directory.EnumerateFiles(train, "*.jpg"))
            File.Copy(jpeg, Path.Combine(images, Path.GetFileName(jpeg)));
        job.WriteHyperparameters(hyperparameters);
        return job;
    }

    [Test]
    public void A_Ground_Truth_manifest_trains_a_Faster_RCNN_and_evaluates_boxes()
    {
        using var job = ManifestJob(new Dictionary<string, string> { ["config-file"] = "Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml", ["opts"] = TinyOpts });
        var (exit, stdout, stderr) = job.Run();
        Assert.That(exit, Is.Zero, stdout + stderr);
        Assert.That(job.FailureText, Is.Empty);

        Assert.That(stdout, Does.Contain($"Dataset 'training': {job.Path("input/data/training/output.manifest")} (images under {job.Path("input/data/training")})"));
        Assert.That(stdout, Does.Contain($"Dataset 'validation': {job.Path("input/data/validation/output.manifest")} (images under {job.Path("input/data/images")})"));
        Assert.That(stdout + stderr, Does.Contain("Loaded 3 images with").And.Contain("Loaded 2 images with").And.Contain("(label 'balloons')"));

        // The final evaluation ran COCO's bbox evaluation on the validation manifest (no segm: boxes only).
        using var evaluation = JsonDocument.Parse(File.ReadAllText(job.Path("output/data/evaluation.json")));
        Assert.That(evaluation.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "bbox" }));
        Assert.That(evaluation.RootElement.GetProperty("bbox").TryGetProperty("AP50", out _), Is.True);
        // The class-map's names are the artifact's classes.
        using var metadata = JsonDocument.Parse(File.ReadAllText(job.Path("model/metadata.json")));
        Assert.That(metadata.RootElement.GetRawText(), Does.Contain("\"balloon\""));
        Assert.That(File.Exists(job.Path("model/model_final.safetensors")), Is.True);
    }

    [Test]
    public void A_Mask_RCNN_on_a_box_only_manifest_is_refused_before_training()
    {
        using var job = ManifestJob(new Dictionary<string, string>
        {
            ["config-file"] = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml", ["opts"] = TinyOpts, ["label-attribute-name"] = "balloons",
        });
        var (exit, stdout, stderr) = job.Run();
        Assert.That(exit, Is.EqualTo(2), stdout + stderr);
        Assert.That(job.FailureText, Does.StartWith("ClientError: MODEL.MASK_ON is True but the training dataset 'training' has boxes only")
            .And.Contain("faster_rcnn").And.Contain("MODEL.MASK_ON False"));
        Assert.That(File.Exists(job.Path("model/model_final.safetensors")), Is.False);
    }

    [Test]
    public void A_missing_image_and_an_unknown_label_attribute_fail_with_the_line_named()
    {
        using (var job = ManifestJob(new Dictionary<string, string> { ["config-file"] = "Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml", ["opts"] = TinyOpts }))
        {
            // The first line's image: the "images" channel has a file of that name (a validation image), which must not be taken instead.
            var missing = Directory.EnumerateFiles(job.Path("input/data/training/images")).Order(StringComparer.Ordinal).First();
            File.Delete(missing);
            var (exit, stdout, stderr) = job.Run();
            Assert.That(exit, Is.EqualTo(2), stdout + stderr);
            Assert.That(job.FailureText, Does.StartWith("ClientError: ").And.Contain($"output.manifest: 1 image(s) not found under {job.Path("input/data/training")} ")
                .And.Contain($"line 1 (s3://my-bucket/gt/train/images/{Path.GetFileName(missing)})"));
        }
        using (var job = ManifestJob(new Dictionary<string, string>
        {
            ["config-file"] = "Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml", ["opts"] = TinyOpts, ["label_attribute_name"] = "fruit",
        }))
        {
            var (exit, stdout, stderr) = job.Run();
            Assert.That(exit, Is.EqualTo(2), stdout + stderr);
            Assert.That(job.FailureText, Does.Contain("output.manifest: line 1: has no \"fruit\" label attribute"));
        }
    }
}
