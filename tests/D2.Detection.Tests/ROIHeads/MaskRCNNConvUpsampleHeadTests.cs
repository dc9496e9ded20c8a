using D2.Detection.Config;
using D2.Detection.Modeling.ROIHeads;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Tests.ROIHeads;

public class MaskRCNNConvUpsampleHeadTests
{
    static MaskRCNNConvUpsampleHead FPNHead(int numClasses = 80) => new(256, numClasses, [256, 256, 256, 256]);

    [Test]
    public void FPN_head_state_dict_uses_Detectron2_names_and_shapes()
    {
        using var head = FPNHead();
        var shapes = head.state_dict().ToDictionary(p => p.Key, p => p.Value.shape);
        var expected = new Dictionary<string, long[]>
        {
            ["deconv.weight"] = [256, 256, 2, 2],
            ["deconv.bias"] = [256],
            ["predictor.weight"] = [80, 256, 1, 1],
            ["predictor.bias"] = [80],
        };
        for (var k = 1; k <= 4; k++)
        {
            expected[$"mask_fcn{k}.weight"] = [256, 256, 3, 3];
            expected[$"mask_fcn{k}.bias"] = [256];
        }
        Assert.That(shapes.Keys, Is.EquivalentTo(expected.Keys));
        foreach (var (name, shape) in expected)
            Assert.That(shapes[name], Is.EqualTo(shape), name);
    }

    [Test]
    public void Forward_maps_14x14_roi_features_to_28x28_logits_per_class()
    {
        using var head = FPNHead();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = head.forward(randn(2, 256, 14, 14));
        Assert.That(logits.shape, Is.EqualTo(new long[] { 2, 80, 28, 28 }));
        Assert.That(head.NumMaskChannels, Is.EqualTo(80));
    }

    [Test]
    public void Initialisation_follows_Detectron2_msra_fill_and_predictor_normal()
    {
        using var head = FPNHead();
        var state = head.state_dict();
        // c2_msra_fill: N(0, sqrt(2 / fan_out)); for the transposed conv fan_out = dim 0 (in channels) * 2 * 2 = 1024.
        Assert.That(state["deconv.weight"].std().item<float>(), Is.EqualTo(Math.Sqrt(2.0 / 1024)).Within(2).Percent);
        Assert.That(state["mask_fcn1.weight"].std().item<float>(), Is.EqualTo(Math.Sqrt(2.0 / (256 * 9))).Within(2).Percent);
        Assert.That(state["mask_fcn4.weight"].mean().item<float>(), Is.EqualTo(0).Within(1e-3));
        // 80 * 256 samples of N(0, 0.001): the sample std is within a few percent.
        Assert.That(state["predictor.weight"].std().item<float>(), Is.EqualTo(0.001).Within(5).Percent);
        foreach (var bias in new[] { "deconv.bias", "mask_fcn1.bias", "mask_fcn4.bias", "predictor.bias" })
            Assert.That(state[bias].abs().max().item<float>(), Is.Zero, bias);
    }

    [Test]
    public void Forward_is_convs_then_relu_deconv_then_predictor()
    {
        using var head = new MaskRCNNConvUpsampleHead(3, 2, [4]);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (_, p) in head.named_parameters())
            p.normal_(0, 0.5);
        var state = head.state_dict();
        var x = randn(2, 3, 5, 5);
        // The same layers written with PyTorch's functional operators.
        var y = nn.functional.relu(nn.functional.conv2d(x, state["mask_fcn1.weight"], state["mask_fcn1.bias"], padding: [1, 1]));
        y = nn.functional.relu(nn.functional.conv_transpose2d(y, state["deconv.weight"], state["deconv.bias"], strides: [2, 2]));
        var expected = nn.functional.conv2d(y, state["predictor.weight"], state["predictor.bias"]);

        var actual = head.forward(x);
        Assert.That(actual.shape, Is.EqualTo(new long[] { 2, 2, 10, 10 }));
        Assert.That(actual.allclose(expected, rtol: 1e-5, atol: 1e-6), Is.True);
    }

    [Test]
    public void Group_norm_convs_have_no_bias_and_class_agnostic_head_predicts_one_mask()
    {
        using var head = new MaskRCNNConvUpsampleHead(64, 5, [32, 32], convNorm: "GN", clsAgnosticMask: true);
        var keys = head.state_dict().Keys.ToList();
        Assert.That(keys, Does.Contain("mask_fcn1.norm.weight").And.Contain("mask_fcn2.norm.bias"));
        Assert.That(keys, Has.None.EqualTo("mask_fcn1.bias").And.None.EqualTo("mask_fcn2.bias"));
        Assert.That(head.state_dict()["predictor.weight"].shape, Is.EqualTo(new long[] { 1, 32, 1, 1 }));
        Assert.That(head.NumMaskChannels, Is.EqualTo(1));
    }

    [Test]
    public void From_config_builds_num_conv_convs_and_a_conv_dim_deconv()
    {
        var cfg = DefaultConfig.Create();
        cfg.Set("MODEL.ROI_HEADS.NUM_CLASSES", 3);
        cfg.Set("MODEL.ROI_MASK_HEAD.CONV_DIM", 16);
        // Default NUM_CONV 0 is the C4 layout: the deconv reads the res5 features directly.
        using (var c4 = MaskRCNNConvUpsampleHead.FromConfig(cfg, 32))
        {
            var state = c4.state_dict();
            Assert.That(state.Keys, Has.None.StartWith("mask_fcn"));
            Assert.That(state["deconv.weight"].shape, Is.EqualTo(new long[] { 32, 16, 2, 2 }));
            Assert.That(state["predictor.weight"].shape, Is.EqualTo(new long[] { 3, 16, 1, 1 }));
        }
        cfg.Set("MODEL.ROI_MASK_HEAD.NUM_CONV", 4);
        using var fpn = MaskRCNNConvUpsampleHead.FromConfig(cfg, 16);
        Assert.That(fpn.state_dict().Keys.Count(k => k.StartsWith("mask_fcn", StringComparison.Ordinal) && k.EndsWith(".weight", StringComparison.Ordinal)),
            Is.EqualTo(4));
        Assert.That(fpn.state_dict()["mask_fcn4.weight"].shape, Is.EqualTo(new long[] { 16, 16, 3, 3 }));
    }

    [Test]
    public void Moving_to_float64_moves_every_parameter_and_forward_follows()
    {
        using var head = new MaskRCNNConvUpsampleHead(4, 2, [4, 4]);
        head.to(ScalarType.Float64);
        Assert.That(head.parameters().Select(p => p.dtype), Has.All.EqualTo(ScalarType.Float64));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var logits = head.forward(randn(1, 4, 3, 3, ScalarType.Float64));
        Assert.That(logits.dtype, Is.EqualTo(ScalarType.Float64));
        Assert.That(logits.shape, Is.EqualTo(new long[] { 1, 2, 6, 6 }));
    }
}
