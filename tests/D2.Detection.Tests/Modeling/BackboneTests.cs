using D2.Detection.Layers;
using D2.Detection.Modeling.Backbone;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

public class BackboneTests
{
    static ResNet R50(int freezeAt = 2) => ResNet.Build(50, ["res2", "res3", "res4", "res5"], "FrozenBN", freezeAt);

    // Independent count: torchvision's resnet50 has 25,557,032 parameters; minus fc (2048*1000+1000) and the
    // BatchNorm weights+biases (2 * 26,560 channels) leaves 23,454,912 conv weights. FPN: laterals
    // (256+512+1024+2048)*256 + 4*256 = 984,064; outputs 4*(256*256*9+256) = 2,360,320.
    const long R50ConvWeights = 23_454_912, FPNParameters = 984_064 + 2_360_320;

    [Test]
    public void R50_FPN_has_Detectron2_parameter_count_and_frozen_stem_and_res2()
    {
        using var fpn = new FPN(R50(), ["res2", "res3", "res4", "res5"], 256, topBlock: new LastLevelMaxPool());
        var parameters = fpn.named_parameters().ToList();
        Assert.That(parameters.Sum(p => p.parameter.numel()), Is.EqualTo(R50ConvWeights + FPNParameters));
        // Frozen: stem conv 64*3*7*7 = 9,408 and res2 (73,728 + 2 * 69,632) = 212,992.
        var frozen = parameters.Where(p => !p.parameter.requires_grad).ToList();
        Assert.That(frozen.Sum(p => p.parameter.numel()), Is.EqualTo(9_408 + 212_992));
        Assert.That(frozen.Select(p => p.name), Has.All.Match(@"^bottom_up\.(stem|res2)\."));
    }

    [TestCase("bottom_up.stem.conv1.weight", new long[] { 64, 3, 7, 7 })]
    [TestCase("bottom_up.stem.conv1.norm.running_var", new long[] { 64 })]
    [TestCase("bottom_up.res2.0.shortcut.weight", new long[] { 256, 64, 1, 1 })]
    [TestCase("bottom_up.res2.0.shortcut.norm.weight", new long[] { 256 })]
    [TestCase("bottom_up.res2.1.conv1.weight", new long[] { 64, 256, 1, 1 })]
    [TestCase("bottom_up.res3.0.conv1.weight", new long[] { 128, 256, 1, 1 })]
    [TestCase("bottom_up.res3.3.conv2.weight", new long[] { 128, 128, 3, 3 })]
    [TestCase("bottom_up.res4.5.conv3.weight", new long[] { 1024, 256, 1, 1 })]
    [TestCase("bottom_up.res5.0.shortcut.weight", new long[] { 2048, 1024, 1, 1 })]
    [TestCase("bottom_up.res5.2.conv3.norm.running_mean", new long[] { 2048 })]
    [TestCase("fpn_lateral2.weight", new long[] { 256, 256, 1, 1 })]
    [TestCase("fpn_lateral5.weight", new long[] { 256, 2048, 1, 1 })]
    [TestCase("fpn_lateral5.bias", new long[] { 256 })]
    [TestCase("fpn_output3.weight", new long[] { 256, 256, 3, 3 })]
    public void R50_FPN_state_dict_uses_Detectron2_names_and_shapes(string name, long[] shape)
    {
        using var fpn = new FPN(R50(), ["res2", "res3", "res4", "res5"], 256, topBlock: new LastLevelMaxPool());
        var stateDict = fpn.state_dict();
        Assert.That(stateDict.ContainsKey(name), Is.True, $"missing {name}");
        Assert.That(stateDict[name].shape, Is.EqualTo(shape));
        Assert.That(stateDict.Keys, Has.None.Contains("num_batches_tracked"), "FrozenBN has no batch counter");
    }

    [Test]
    public void R101_has_23_res4_blocks_and_R18_uses_basic_blocks_without_res2_shortcut()
    {
        using var r101 = ResNet.Build(101, ["res4"]);
        Assert.That(r101.state_dict().Keys.Count(k => k.EndsWith(".conv1.weight", StringComparison.Ordinal) && k.StartsWith("res4.", StringComparison.Ordinal)), Is.EqualTo(23));
        Assert.That(r101.state_dict().Keys, Has.None.StartWith("res5."), "stages past the deepest output are not built");
        using var r18 = ResNet.Build(18, ["res5"], "GN", freezeAt: 0, res2OutChannels: 64);
        var keys = r18.state_dict().Keys.ToList();
        Assert.That(keys, Has.None.StartWith("res2.0.shortcut"));
        Assert.That(keys, Does.Contain("res3.0.shortcut.weight").And.Contain("res2.1.conv2.norm.weight").And.None.Contains("conv3"));
        Assert.That(r18.OutputShape["res5"], Is.EqualTo(new ShapeSpec(512, 32)));
    }

    [Test]
    public void Stride_in_1x1_puts_the_stride_on_conv1()
    {
        using var block = new BottleneckBlock(256, 512, 128, stride: 2, norm: "", strideIn1x1: true);
        using var other = new BottleneckBlock(256, 512, 128, stride: 2, norm: "", strideIn1x1: false);
        using var x = randn(1, 256, 8, 8);
        Assert.That(block.forward(x).shape, Is.EqualTo(new long[] { 1, 512, 4, 4 }));
        Assert.That(other.forward(x).shape, Is.EqualTo(new long[] { 1, 512, 4, 4 }));
    }

    [Test]
    public void FPN_outputs_p2_to_p6_at_their_strides()
    {
        using var fpn = new FPN(ResNet.Build(18, ["res2", "res3", "res4", "res5"], "GN", 0, res2OutChannels: 64), ["res2", "res3", "res4", "res5"], 64, topBlock: new LastLevelMaxPool());
        Assert.That(fpn.SizeDivisibility, Is.EqualTo(32), "Detectron2 pads to the stride of res5, not of p6");
        using var scope = NewDisposeScope();
        var outputs = fpn.forward(randn(2, 3, 128, 192));
        Assert.That(outputs.Keys, Is.EqualTo(new[] { "p2", "p3", "p4", "p5", "p6" }));
        foreach (var (name, tensor) in outputs)
        {
            var stride = 1L << int.Parse(name[1..]);
            Assert.That(tensor.shape, Is.EqualTo(new[] { 2, 64, 128 / stride, 192 / stride }), name);
        }
    }

    [Test]
    public void FPN_top_down_sums_lateral_and_nearest_upsampled_coarser_level()
    {
        // Identity laterals/outputs on a 1-channel pyramid make p_l = res_l + upsample(p_{l+1}) checkable by hand.
        using var bottomUp = new FixedPyramid();
        using var fpn = new FPN(bottomUp, ["res2", "res3"], 1, topBlock: null);
        using (no_grad())
            foreach (var (name, p) in fpn.named_parameters())
            {
                p.zero_();
                if (name.EndsWith("weight", StringComparison.Ordinal))
                    p[0, 0, p.shape[2] / 2, p.shape[3] / 2] = tensor(1f);
            }
        using var scope = NewDisposeScope();
        var outputs = fpn.forward(zeros(1, 3, 8, 8));
        // res3 (2x2) = [[1,2],[3,4]]; res2 (4x4) = 10 everywhere -> p2 = 10 + nearest-upsampled res3.
        var expectedP2 = new float[] { 11, 11, 12, 12, 11, 11, 12, 12, 13, 13, 14, 14, 13, 13, 14, 14 };
        Assert.That(outputs["p2"].data<float>().ToArray(), Is.EqualTo(expectedP2));
        Assert.That(outputs["p3"].data<float>().ToArray(), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void GroupNorm_starts_as_identity_affine()
    {
        // Guards a TorchSharp 0.107 quirk: its GroupNorm does not initialise weight and bias.
        for (var i = 0; i < 5; i++)
        {
            using var norm = Norm.Create("GN", 128)!;
            var state = norm.state_dict();
            Assert.That(state["weight"].data<float>().ToArray(), Has.All.EqualTo(1f));
            Assert.That(state["bias"].data<float>().ToArray(), Has.All.EqualTo(0f));
        }
    }

    [Test]
    public void Unknown_depth_or_feature_is_a_clear_error()
    {
        Assert.That(() => ResNet.Build(42, ["res5"]), Throws.ArgumentException.With.Message.Contains("DEPTH 42"));
        Assert.That(() => ResNet.Build(50, ["res6"]), Throws.ArgumentException.With.Message.Contains("res6"));
        Assert.That(() => Norm.Create("LayerNorm", 64), Throws.ArgumentException.With.Message.Contains("'LayerNorm'"));
    }

    /// <summary>A parameter-free backbone returning fixed maps at strides 4 and 8.</summary>
    sealed class FixedPyramid() : Backbone(nameof(FixedPyramid))
    {
        public override IReadOnlyDictionary<string, ShapeSpec> OutputShape { get; } =
            new Dictionary<string, ShapeSpec> { ["res2"] = new(1, 4), ["res3"] = new(1, 8) };

        public override Dictionary<string, Tensor> forward(Tensor x) => new()
        {
            ["res2"] = full(1, 1, 4, 4, 10f),
            ["res3"] = tensor(new float[] { 1, 2, 3, 4 }, [1, 1, 2, 2]),
        };
    }
}
