using D2.Detection.Checkpoint;
using D2.Detection.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Checkpoint;

public class DetectionCheckpointerTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("d2-checkpointer-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    /// <summary>conv (no bias) + FrozenBN, ReLU, conv: parameters and FrozenBN buffers, all random per seed.</summary>
    internal static nn.Module<Tensor, Tensor> SmallNet(int seed)
    {
        manual_seed(seed);
        var net = nn.Sequential(
            ("conv1", new Conv2d(3, 4, 3, padding: 1, bias: false, norm: new FrozenBatchNorm2d(4))),
            ("relu", nn.ReLU()),
            ("conv2", new Conv2d(4, 2, 1)));
        using (no_grad())
            foreach (var (_, buffer) in net.named_buffers())
                buffer.copy_(rand_like(buffer) + 0.5);
        return net;
    }

    private string PicklePath(string name, IReadOnlyList<KeyValuePair<string, object?>> content)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, NumpyPickleWriter.Dump(content));
        return path;
    }

    private static Tensor Parameter(nn.Module model, string key) => model.state_dict()[key];

    /// <summary>Same shape and bit-identical values (torch.equal).</summary>
    internal static bool Identical(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Test]
    public void Saved_model_loads_into_a_fresh_model_with_identical_outputs()
    {
        using var scope = NewDisposeScope();
        var trained = SmallNet(1);
        var fresh = SmallNet(2);
        var input = randn(2, 3, 8, 8);
        var path = Path.Combine(_folder, "model_final.safetensors");
        Assert.That(Identical(fresh.call(input), trained.call(input)), Is.False, "different seeds give different models");

        DetectionCheckpointer.Save(trained, path, new Dictionary<string, string> { ["config"] = "mask_rcnn_R_50_FPN_3x.yaml" });
        var report = DetectionCheckpointer.Load(fresh, path);

        Assert.That(Identical(fresh.call(input), trained.call(input)), Is.True);
        Assert.That(report.IsComplete, Is.True, report.ToString());
        Assert.That(report.Loaded, Is.EquivalentTo(trained.state_dict().Keys));
        Assert.That(SafeTensors.ReadMetadata(path)["config"], Is.EqualTo("mask_rcnn_R_50_FPN_3x.yaml"));
    }

    [Test]
    public void Shape_mismatches_are_skipped_and_missing_and_unexpected_keys_are_reported()
    {
        using var scope = NewDisposeScope();
        var coco = new Named(("backbone", new Named(("conv", nn.Conv2d(1, 2, 1)))), ("cls_score", nn.Linear(8, 81)), ("old", nn.Linear(2, 2)));
        var balloon = new Named(("backbone", new Named(("conv", nn.Conv2d(1, 2, 1)))), ("cls_score", nn.Linear(8, 2)), ("extra", nn.Linear(2, 3)));
        var freshClassifier = Parameter(balloon, "cls_score.weight").clone();
        var path = Path.Combine(_folder, "coco.safetensors");
        DetectionCheckpointer.Save(coco, path);

        var report = DetectionCheckpointer.Load(balloon, path);

        Assert.That(report.Loaded, Is.EquivalentTo(new[] { "backbone.conv.weight", "backbone.conv.bias" }));
        Assert.That(report.SkippedByShape.Select(s => (s.Key, string.Join(",", s.CheckpointShape), string.Join(",", s.ModelShape))), Is.EquivalentTo(new[]
        {
            ("cls_score.weight", "81,8", "2,8"), ("cls_score.bias", "81", "2"),
        }));
        Assert.That(report.Missing, Is.EquivalentTo(new[] { "cls_score.weight", "cls_score.bias", "extra.weight", "extra.bias" }));
        Assert.That(report.Unexpected, Is.EquivalentTo(new[] { "old.weight", "old.bias" }));
        Assert.That(Identical(Parameter(balloon, "cls_score.weight"), freshClassifier), Is.True, "skipped tensors keep their fresh values");
        Assert.That(Identical(Parameter(balloon, "backbone.conv.weight"), Parameter(coco, "backbone.conv.weight")), Is.True);
    }

    [Test]
    public void Load_report_prints_detectron2_log_lines()
    {
        using var scope = NewDisposeScope();
        var model = new Named(("cls_score", nn.Linear(8, 2)), ("extra", nn.Linear(2, 3)));

        var report = DetectionCheckpointer.LoadStateDict(model, "model_final.pkl",
        [
            new("old.weight", zeros(2, 2)), new("cls_score.weight", zeros(81, 8)), new("cls_score.bias", zeros(81)), new("old.bias", zeros(2)),
        ]);

        Assert.That(report.ToString(), Is.EqualTo(
            """
            [Checkpointer] Loading from model_final.pkl ...
            Skip loading parameter 'cls_score.weight' to the model due to incompatible shapes: (81, 8) in the checkpoint but (2, 8) in the model! You might want to double check if this is expected.
            Skip loading parameter 'cls_score.bias' to the model due to incompatible shapes: (81,) in the checkpoint but (2,) in the model! You might want to double check if this is expected.
            Some model parameters or buffers are not found in the checkpoint:
            cls_score.{bias, weight}
            extra.{bias, weight}
            The checkpoint state_dict contains keys that are not used by the model:
              old.{bias, weight}
            """.ReplaceLineEndings("\n")));
    }

    [Test]
    public void Model_zoo_pkl_loads_by_exact_name_and_float64_arrays_land_in_float32_parameters()
    {
        using var scope = NewDisposeScope();
        var model = new Named(("backbone", new Named(("conv", nn.Conv2d(1, 2, 1)))), ("cls_score", nn.Linear(3, 2)), ("extra", new Named(("fc", nn.Linear(2, 2)))));
        List<KeyValuePair<string, object?>> weights =
        [
            new("backbone.conv.weight", NpArray.Of(new[] { 0.1, 0.2 }, 2, 1, 1, 1)),
            new("backbone.conv.bias", NpArray.Of(new[] { -1f, 1f }, 2)),
            new("cls_score.weight", NpArray.Of(new float[81 * 3], 81, 3)),
            new("fc.weight", NpArray.Of(new float[] { 1, 2, 3, 4 }, 2, 2)),
        ];
        var path = PicklePath("model_final_f10217.pkl", [new("model", weights), new("__author__", "Detectron2 Model Zoo")]);

        var report = DetectionCheckpointer.Load(model, path);

        var convWeight = Parameter(model, "backbone.conv.weight");
        Assert.That(convWeight.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(convWeight.flatten().data<float>().ToArray(), Is.EqualTo(new[] { 0.1f, 0.2f }));
        Assert.That(Parameter(model, "backbone.conv.bias").data<float>().ToArray(), Is.EqualTo(new[] { -1f, 1f }));
        Assert.That(report.Notes, Does.Contain("Reading a file from 'Detectron2 Model Zoo'"));
        Assert.That(report.SkippedByShape.Select(s => s.Key), Is.EqualTo(new[] { "cls_score.weight" }));
        // Exact names: "fc.weight" does not land on "extra.fc.weight" without matching_heuristics.
        Assert.That(report.Unexpected, Is.EqualTo(new[] { "fc.weight" }));
        Assert.That(report.Missing, Is.EquivalentTo(new[] { "cls_score.weight", "cls_score.bias", "extra.fc.weight", "extra.fc.bias" }));

        var withHeuristics = PicklePath("heuristics.pkl", [new("model", weights), new("__author__", "someone"), new("matching_heuristics", true)]);
        report = DetectionCheckpointer.Load(model, withHeuristics);
        Assert.That(report.Loaded, Does.Contain("extra.fc.weight"));
        Assert.That(Parameter(model, "extra.fc.weight").flatten().data<float>().ToArray(), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void Caffe2_imagenet_pkl_is_renamed_and_matched_onto_detectron2_resnet_names()
    {
        using var scope = NewDisposeScope();
        var resnet = D2.Detection.Modeling.Backbone.ResNet.Build(18, ["res2"], "FrozenBN", 0, res2OutChannels: 64);
        var model = new Named(("backbone", new Named(("bottom_up", resnet))));
        static float[] Ramp(int count, float scale, float offset = 0) => Enumerable.Range(0, count).Select(i => offset + i * scale).ToArray();
        var path = PicklePath("R-18.pkl",
        [
            new("conv1_w", NpArray.Of(Ramp(64 * 3 * 7 * 7, 1e-4f), 64, 3, 7, 7)),
            new("conv1_w_momentum", NpArray.Of(Ramp(64 * 3 * 7 * 7, 0), 64, 3, 7, 7)),
            new("res_conv1_bn_s", NpArray.Of(Ramp(64, 0.01f, 1), 64)),
            new("res_conv1_bn_b", NpArray.Of(Ramp(64, -0.01f), 64)),
            new("res2_0_branch2a_w", NpArray.Of(Ramp(64 * 64 * 3 * 3, -1e-5f), 64, 64, 3, 3)),
            new("res2_0_branch2a_bn_s", NpArray.Of(Ramp(64, 0.02f, 0.5f), 64)),
            new("res2_0_branch2a_bn_b", NpArray.Of(Ramp(64, 0.03f), 64)),
            new("fc1000_w", NpArray.Of(Ramp(10 * 4, 1), 10, 4)),
            new("fc1000_b", NpArray.Of(Ramp(10, 1), 10)),
        ]);

        var report = DetectionCheckpointer.Load(model, path);

        float[] Values(string key) => Parameter(model, key).flatten().data<float>().ToArray();
        Assert.That(Values("backbone.bottom_up.stem.conv1.weight"), Is.EqualTo(Ramp(64 * 3 * 7 * 7, 1e-4f)));
        Assert.That(Values("backbone.bottom_up.stem.conv1.norm.weight"), Is.EqualTo(Ramp(64, 0.01f, 1)));
        Assert.That(Values("backbone.bottom_up.stem.conv1.norm.bias"), Is.EqualTo(Ramp(64, -0.01f)));
        Assert.That(Values("backbone.bottom_up.res2.0.conv1.weight"), Is.EqualTo(Ramp(64 * 64 * 3 * 3, -1e-5f)));
        Assert.That(Values("backbone.bottom_up.res2.0.conv1.norm.weight"), Is.EqualTo(Ramp(64, 0.02f, 0.5f)));
        Assert.That(Values("backbone.bottom_up.res2.0.conv1.norm.bias"), Is.EqualTo(Ramp(64, 0.03f)));
        // Caffe2 backbones hold folded BN only: FrozenBatchNorm2d takes running mean 0 and variance 1, as in Detectron2.
        Assert.That(Values("backbone.bottom_up.stem.conv1.norm.running_mean"), Is.All.EqualTo(0f));
        Assert.That(Values("backbone.bottom_up.stem.conv1.norm.running_var"), Is.All.EqualTo(1f));
        Assert.That(report.Unexpected, Is.EquivalentTo(new[] { "fc1000.bias", "fc1000.weight" }));
        Assert.That(report.Missing, Does.Contain("backbone.bottom_up.res2.0.conv2.weight").And.Contain("backbone.bottom_up.res2.1.conv1.norm.weight"));
        Assert.That(report.Missing, Has.None.Contain("running_"));
        Assert.That(report.Loaded, Has.None.Contain("running_"), "filled statistics are not reported as loaded from the file");
        Assert.That(report.Notes, Does.Contain("Remapping C2 weights ......"));
    }

    [Test]
    public void Detectron1_heads_get_background_moved_last_and_dropped_from_regressors()
    {
        using var scope = NewDisposeScope();
        var model = new Named(("roi_heads", new Named(
            ("box_predictor", new Named(("cls_score", nn.Linear(2, 3)), ("bbox_pred", nn.Linear(2, 8)))),
            ("mask_head", new Named(("predictor", nn.Conv2d(2, 2, 1)))))));
        float[] Rows(int rows, int cols) => Enumerable.Range(0, rows * cols).Select(i => (float)(i / cols)).ToArray();
        var path = PicklePath("model_final_detectron1.pkl",
        [
            new("blobs", new List<KeyValuePair<string, object?>>
            {
                new("cls_score_w", NpArray.Of(Rows(3, 2), 3, 2)),
                new("cls_score_b", NpArray.Of(new float[] { 0, 1, 2 }, 3)),
                new("cls_score_w_momentum", NpArray.Of(Rows(3, 2), 3, 2)),
                new("bbox_pred_w", NpArray.Of(Rows(12, 2), 12, 2)),
                new("bbox_pred_b", NpArray.Of(Rows(12, 1), 12)),
                new("mask_fcn_logits_w", NpArray.Of(Rows(3, 2), 3, 2, 1, 1)),
                new("mask_fcn_logits_b", NpArray.Of(new float[] { 0, 1, 2 }, 3)),
            }),
            new("cfg", "MODEL: ..."),
        ]);

        var report = DetectionCheckpointer.Load(model, path);

        float[] Values(string key) => Parameter(model, key).flatten().data<float>().ToArray();
        Assert.That(report.IsComplete, Is.True, report.ToString());
        Assert.That(Values("roi_heads.box_predictor.cls_score.weight"), Is.EqualTo(new float[] { 1, 1, 2, 2, 0, 0 }));
        Assert.That(Values("roi_heads.box_predictor.cls_score.bias"), Is.EqualTo(new float[] { 1, 2, 0 }));
        Assert.That(Values("roi_heads.box_predictor.bbox_pred.bias"), Is.EqualTo(new float[] { 4, 5, 6, 7, 8, 9, 10, 11 }));
        Assert.That(Values("roi_heads.mask_head.predictor.weight"), Is.EqualTo(new float[] { 1, 1, 2, 2 }));
        Assert.That(Values("roi_heads.mask_head.predictor.bias"), Is.EqualTo(new float[] { 1, 2 }));
    }

    [Test]
    public void Pytorch_pth_checkpoint_loads_its_model_entry_by_name()
    {
        using var scope = NewDisposeScope();
        var model = new Named(("conv", nn.Conv2d(1, 3, 2)), ("norm", new FrozenBatchNorm2d(3)));
        var path = Path.Combine(_folder, "model_0000099.pth");
        File.WriteAllBytes(path, Convert.FromBase64String(TorchSaveFixtures.Detectron2Pth));

        var report = DetectionCheckpointer.Load(model, path);

        Assert.That(Parameter(model, "conv.weight").flatten().data<float>().ToArray(), Is.EqualTo(Enumerable.Range(0, 12).Select(i => (float)i).ToArray()));
        Assert.That(Parameter(model, "conv.bias").data<float>().ToArray(), Is.EqualTo(new[] { 0.5f, -1f, 2f }));
        Assert.That(Parameter(model, "norm.running_var").data<float>().ToArray(), Is.EqualTo(new[] { 1f, 2f, 3f }));
        Assert.That(report.Missing, Is.EquivalentTo(new[] { "norm.weight", "norm.bias" }));
        Assert.That(report.Unexpected, Is.EqualTo(new[] { "steps" }));
    }

    [Test]
    public void Unreadable_checkpoints_fail_with_the_file_named()
    {
        using var scope = NewDisposeScope();
        var model = SmallNet(0);
        var legacy = Path.Combine(_folder, "legacy.pth");
        // torch.save(..., _use_new_zipfile_serialization=False) starts with pickle protocol 2 and torch's magic number.
        File.WriteAllBytes(legacy, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
        var garbage = Path.Combine(_folder, "garbage.pt");
        File.WriteAllText(garbage, "not a checkpoint");
        var unknown = Path.Combine(_folder, "weights.h5");
        File.WriteAllText(unknown, "");

        Assert.That(Assert.Throws<CheckpointFormatException>(() => DetectionCheckpointer.Load(model, legacy))!.Message,
            Does.Contain(legacy).And.Contain("legacy"));
        Assert.That(Assert.Throws<CheckpointFormatException>(() => DetectionCheckpointer.Load(model, garbage))!.Message,
            Does.Contain(garbage).And.Contain("not a PyTorch checkpoint"));
        Assert.That(Assert.Throws<CheckpointFormatException>(() => DetectionCheckpointer.Load(model, unknown))!.Message,
            Does.Contain(unknown).And.Contain("'.h5'"));
        Assert.Throws<FileNotFoundException>(() => DetectionCheckpointer.Load(model, Path.Combine(_folder, "absent.safetensors")));
    }

    [Test]
    public void Pixel_statistics_stale_cell_anchors_and_a_module_prefix_are_ignored_like_detectron2()
    {
        using var scope = NewDisposeScope();
        var model = new WithPixelStatistics();

        var report = DetectionCheckpointer.LoadStateDict(model, "ddp.pth",
        [
            new("module.head.weight", ones(2, 2)), new("module.head.bias", ones(2)),
            new("module.proposal_generator.anchor_generator.cell_anchors.0", zeros(3, 4)),
        ]);

        Assert.That(report.Loaded, Is.EquivalentTo(new[] { "head.weight", "head.bias" }));
        Assert.That(report.Missing, Is.Empty);
        Assert.That(report.Unexpected, Is.Empty);
    }

    private sealed class WithPixelStatistics : nn.Module
    {
        public WithPixelStatistics() : base(nameof(WithPixelStatistics))
        {
            register_buffer("pixel_mean", tensor(new[] { 103.53f, 116.28f, 123.675f }));
            register_buffer("pixel_std", ones(3));
            register_module("head", nn.Linear(2, 2));
        }
    }
}
