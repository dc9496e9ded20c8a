using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

/// <summary>The whole model built from configs: names and counts, a training step, inference, and overfitting one image.</summary>
public class GeneralizedRCNNTests
{
    const string SmallMaskConfig = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml";

    /// <summary>A tiny variant of the small CPU config so a step takes well under a second here.</summary>
    internal static CfgNode TinyConfig(params string[] extra) => ModelZoo.GetConfig(SmallMaskConfig,
    [
        "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64", "MODEL.ROI_MASK_HEAD.CONV_DIM", "32",
        "MODEL.RPN.BATCH_SIZE_PER_IMAGE", "64", "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE", "32", "MODEL.ROI_HEADS.NUM_CLASSES", "2",
        .. extra,
    ]);

    /// <summary>A 96x128 image with a red square (class 0) and a green triangle (class 1), BGR in 0..255.</summary>
    internal static ModelInput SyntheticImage()
    {
        const int height = 96, width = 128;
        var pixels = new float[3 * height * width];
        for (var i = 0; i < pixels.Length; i++)
            pixels[i] = 40f;
        void Paint(int x, int y, int channel) => pixels[channel * height * width + y * width + x] = 230f;
        for (var y = 20; y < 60; y++)
            for (var x = 16; x < 56; x++)
                Paint(x, y, 2);
        for (var y = 30; y < 80; y++)
            for (var x = 70; x < 70 + (y - 30) * 50 / 50 && x < 120; x++)
                Paint(x, y, 1);
        var instances = new Instances((height, width));
        instances.Set("gt_boxes", new Boxes(tensor(new float[] { 16, 20, 56, 60, 70, 30, 120, 80 }, [2, 4])));
        instances.Set("gt_classes", tensor(new long[] { 0, 1 }));
        instances.Set("gt_masks", new PolygonMasks([
            [[16, 20, 56, 20, 56, 60, 16, 60]],
            [[70, 30, 70, 80, 120, 80]],
        ]));
        return new ModelInput(tensor(pixels, [3, height, width]), instances);
    }

    [Test]
    public void Mask_rcnn_R50_FPN_has_Detectron2_state_dict_and_parameter_counts()
    {
        // Independent reference: torchvision's maskrcnn_resnet50_fpn (the same R50-FPN, RPN, 2-fc box head and 4-conv mask
        // head) has 44,401,393 parameters with 91 classes; with Detectron2's 80 classes the predictors shrink by
        // (1024*91+91 + 1024*364+364 + 256*91+91) - (1024*81+81 + 1024*320+320 + 256*80+80) = 58,177 -> 44,343,216.
        using var model = ModelBuilder.Build(ModelZoo.GetConfig("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml"));
        var parameters = model.parameters().ToList();
        Assert.That(parameters.Sum(p => p.numel()), Is.EqualTo(44_343_216));
        // FREEZE_AT 2: the stem (9,408) and res2 (212,992) do not train.
        Assert.That(parameters.Where(p => p.requires_grad).Sum(p => p.numel()), Is.EqualTo(44_343_216 - 222_400));
        var stateDict = model.state_dict();
        // 53 convs x (weight + 4 FrozenBN buffers) + FPN 16 + RPN 6 + box head 4 + predictor 4 + mask head 12.
        Assert.That(stateDict.Count, Is.EqualTo(265 + 16 + 6 + 4 + 4 + 12));
        Assert.That(stateDict.Keys.First(), Is.EqualTo("backbone.fpn_lateral2.weight"), "Detectron2 registers the FPN convs before bottom_up");
        foreach (var (name, shape) in new (string, long[])[]
        {
            ("backbone.bottom_up.stem.conv1.weight", [64, 3, 7, 7]),
            ("backbone.bottom_up.res4.5.conv2.norm.running_var", [256]),
            ("proposal_generator.rpn_head.anchor_deltas.weight", [12, 256, 1, 1]),
            ("roi_heads.box_head.fc1.weight", [1024, 12544]),
            ("roi_heads.box_predictor.cls_score.weight", [81, 1024]),
            ("roi_heads.box_predictor.bbox_pred.bias", [320]),
            ("roi_heads.mask_head.deconv.weight", [256, 256, 2, 2]),
            ("roi_heads.mask_head.predictor.weight", [80, 256, 1, 1]),
        })
            Assert.That(stateDict[name].shape, Is.EqualTo(shape), name);
        Assert.That(stateDict.Keys, Has.None.Contains("._").And.None.Contains("pixel_").And.None.Contains("cell_anchors"));
    }

    [Test]
    public void Faster_rcnn_R50_FPN_has_no_mask_head_and_torchvision_equivalent_count()
    {
        // torchvision's fasterrcnn_resnet50_fpn: 41,755,286 with 91 classes; minus 55,350 for 80 classes.
        using var model = ModelBuilder.Build(ModelZoo.GetConfig("COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml", ["MODEL.ROI_HEADS.NUM_CLASSES", "1"]));
        Assert.That(model.state_dict().Keys, Has.None.StartWith("roi_heads.mask_head"));
        // One class: cls_score 1024*2+2 and bbox_pred 1024*4+4 instead of 83,025 and 328,000.
        Assert.That(model.parameters().Sum(p => p.numel()), Is.EqualTo(41_699_936 - 83_025 - 328_000 + 2_050 + 4_100));
    }

    [Test]
    public void Training_forward_returns_finite_losses_with_gradients_on_every_trainable_parameter()
    {
        manual_seed(7);
        using var model = ModelBuilder.Build(TinyConfig("MODEL.BACKBONE.FREEZE_AT", "2"));
        model.train();
        using var scope = NewDisposeScope();
        var losses = model.ForwardTraining([SyntheticImage(), SyntheticImage()]);
        Assert.That(losses.Keys, Is.EquivalentTo(new[] { "loss_rpn_cls", "loss_rpn_loc", "loss_cls", "loss_box_reg", "loss_mask" }));
        foreach (var (name, loss) in losses)
            Assert.That(float.IsFinite(loss.item<float>()), Is.True, name);
        // Fresh heads: loss_cls near ln(K + 1) = ln 3, loss_mask near ln 2 (spec §26).
        Assert.That(losses["loss_cls"].item<float>(), Is.EqualTo(Math.Log(3)).Within(0.15));
        Assert.That(losses["loss_mask"].item<float>(), Is.EqualTo(Math.Log(2)).Within(0.1));
        losses.Values.Aggregate((a, b) => a + b).backward();
        foreach (var (name, p) in model.named_parameters())
        {
            if (p.requires_grad)
                Assert.That(p.grad, Is.Not.Null, $"no gradient on trainable {name}");
            else
                Assert.That(p.grad, Is.Null, $"gradient on frozen {name}");
        }
        Assert.That(model.named_parameters().Where(p => !p.parameter.requires_grad).Select(p => p.name), Has.All.Match(@"^backbone\.bottom_up\.(stem|res2)\."));
    }

    [Test]
    public void Inference_returns_sorted_instances_inside_the_image_with_masks_at_the_requested_size()
    {
        manual_seed(3);
        using var model = ModelBuilder.Build(TinyConfig("MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0"));
        model.eval();
        using var scope = NewDisposeScope();
        var input = SyntheticImage() with { Instances = null, Height = 192, Width = 256 };
        var result = model.Inference([input])[0];
        Assert.That(result.ImageSize, Is.EqualTo((192, 256)));
        Assert.That(result.Length, Is.GreaterThan(0), "a score threshold of 0 keeps detections");
        var boxes = result.Get<Boxes>("pred_boxes").Tensor;
        Assert.That(boxes.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(boxes[.., 2].max().item<float>(), Is.LessThanOrEqualTo(256f));
        Assert.That(boxes[.., 3].max().item<float>(), Is.LessThanOrEqualTo(192f));
        Assert.That(result.Get<Tensor>("scores").data<float>().ToArray(), Is.Ordered.Descending);
        var masks = result.Get<Tensor>("pred_masks");
        Assert.That(masks.shape, Is.EqualTo(new[] { result.Length, 192L, 256L }));
        Assert.That(masks.dtype, Is.EqualTo(ScalarType.Bool));
    }

    [Test]
    public void Model_saved_as_safetensors_loads_into_a_fresh_model_with_identical_outputs()
    {
        var path = Path.Combine(Path.GetTempPath(), $"d2-model-{Guid.NewGuid():N}.safetensors");
        try
        {
            manual_seed(5);
            using var trained = ModelBuilder.Build(TinyConfig("MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0"));
            trained.eval();
            DetectionCheckpointer.Save(trained, path, null);
            manual_seed(6);
            using var fresh = ModelBuilder.Build(TinyConfig("MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0"));
            fresh.eval();
            var report = DetectionCheckpointer.Load(fresh, path);
            Assert.That(report.Missing, Is.Empty);
            Assert.That(report.Unexpected, Is.Empty);
            Assert.That(report.SkippedByShape, Is.Empty);
            using var scope = NewDisposeScope();
            var input = SyntheticImage() with { Instances = null };
            var expected = trained.Inference([input])[0];
            var actual = fresh.Inference([input])[0];
            Assert.That(actual.Length, Is.EqualTo(expected.Length).And.GreaterThan(0));
            Assert.That(actual.Get<Tensor>("scores").data<float>().ToArray(), Is.EqualTo(expected.Get<Tensor>("scores").data<float>().ToArray()));
            Assert.That(actual.Get<Boxes>("pred_boxes").Tensor.data<float>().ToArray(), Is.EqualTo(expected.Get<Boxes>("pred_boxes").Tensor.data<float>().ToArray()));
            Assert.That(actual.Get<Tensor>("pred_masks").eq(expected.Get<Tensor>("pred_masks")).all().item<bool>(), Is.True);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void Model_device_comes_from_MODEL_DEVICE()
    {
        using var model = ModelBuilder.BuildOnDevice(TinyConfig("MODEL.DEVICE", "cpu"));
        Assert.That(model.Device.type, Is.EqualTo(TorchSharp.DeviceType.CPU));
        Assume.That(cuda.is_available(), Is.False, "this host has CUDA");
        // The zoo configs keep Detectron2's default MODEL.DEVICE "cuda".
        Assert.That(() => ModelBuilder.BuildOnDevice(ModelZoo.GetConfig("COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml")),
            Throws.InvalidOperationException.With.Message.Contains("MODEL.DEVICE cpu"));
    }

    [Test]
    public void Small_config_overfits_one_image()
    {
        manual_seed(11);
        using var model = ModelBuilder.Build(TinyConfig());
        model.train();
        var parameters = model.parameters().Where(p => p.requires_grad).ToList();
        using var optimizer = optim.SGD(parameters, 0.01, momentum: 0.9);
        var batch = new[] { SyntheticImage() };
        var totals = new List<double>();
        for (var step = 0; step < 120; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var total = model.ForwardTraining(batch).Values.Aggregate((a, b) => a + b);
            total.backward();
            nn.utils.clip_grad_norm_(parameters, 10.0);
            optimizer.step();
            totals.Add(total.item<float>());
        }
        TestContext.Out.WriteLine($"total loss: {string.Join(" ", totals.Select(t => t.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.That(totals.TakeLast(10).Average(), Is.LessThan(totals.Take(3).Average() / 2));
    }
}
