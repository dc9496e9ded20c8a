using TorchSharp.Utils;
using D2.Detection.Config;
using D2.Detection.Layers;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.Backbone;

/// <summary>
/// Feature Pyramid Network over a bottom-up backbone: per input a lateral 1x1 and an output 3x3 conv named by log2 of the
/// stride (<c>fpn_lateral2</c>, <c>fpn_output2</c>, ...), top-down nearest x2 upsampling with sum (or avg) fusion, and an
/// optional LastLevelMaxPool for p6. Outputs "p{log2 stride}". <see cref="FromConfig"/> is registered as
/// "build_resnet_fpn_backbone" (MODEL.BACKBONE.NAME).
/// </summary>
public sealed class FPN : Backbone
{
    [ComponentName(Name = "bottom_up")]
    private readonly Backbone _bottomUp;
    private readonly string[] _inFeatures;
    private readonly Conv2d[] _lateralConvs, _outputConvs; // ordered like _inFeatures (fine to coarse)
    [ComponentName(Name = "top_block")]
    private readonly LastLevelMaxPool? _topBlock;
    private readonly bool _averageFuse;
    private readonly Dictionary<string, ShapeSpec> _outputShape = [];
    private readonly int _sizeDivisibility;

    /// <param name="inFeatures">bottom-up outputs to use, fine to coarse; strides must double from one to the next</param>
    /// <param name="fuseType">"sum" or "avg"</param>
    public FPN(Backbone bottomUp, IReadOnlyList<string> inFeatures, long outChannels, string norm = "", LastLevelMaxPool? topBlock = null, string fuseType = "sum")
        : base(nameof(FPN))
    {
        if (fuseType is not ("sum" or "avg"))
            throw new ArgumentException($"MODEL.FPN.FUSE_TYPE must be 'sum' or 'avg', not '{fuseType}'.");
        var shapes = bottomUp.OutputShape;
        foreach (var feature in inFeatures)
            if (!shapes.ContainsKey(feature))
                throw new ArgumentException($"MODEL.FPN.IN_FEATURES names '{feature}', which the bottom-up backbone does not output ({string.Join(", ", shapes.Keys)}).");
        var strides = inFeatures.Select(f => shapes[f].Stride).ToArray();
        for (var i = 1; i < strides.Length; i++)
            if (strides[i] != 2 * strides[i - 1])
                throw new ArgumentException($"FPN input strides must double from level to level: {string.Join(", ", strides)}.");

        _bottomUp = bottomUp;
        _inFeatures = [.. inFeatures];
        _averageFuse = fuseType == "avg";
        _topBlock = topBlock;
        var useBias = norm.Length == 0;
        _lateralConvs = new Conv2d[inFeatures.Count];
        _outputConvs = new Conv2d[inFeatures.Count];
        for (var i = 0; i < inFeatures.Count; i++)
        {
            var stage = (int)Math.Log2(strides[i]);
            var lateral = new Conv2d(shapes[inFeatures[i]].Channels, outChannels, 1, bias: useBias, norm: Norm.Create(norm, outChannels));
            var output = new Conv2d(outChannels, outChannels, 3, padding: 1, bias: useBias, norm: Norm.Create(norm, outChannels));
            WeightInit.C2XavierFill(lateral);
            WeightInit.C2XavierFill(output);
            register_module($"fpn_lateral{stage}", lateral);
            register_module($"fpn_output{stage}", output);
            _lateralConvs[i] = lateral;
            _outputConvs[i] = output;
            _outputShape[$"p{stage}"] = new ShapeSpec(outChannels, strides[i]);
        }
        if (topBlock is not null)
        {
            if (!_outputShape.ContainsKey(LastLevelMaxPool.InFeature))
                throw new ArgumentException($"LastLevelMaxPool reads {LastLevelMaxPool.InFeature}, which this FPN does not produce.");
            var last = (int)Math.Log2(strides[^1]);
            _outputShape[$"p{last + 1}"] = new ShapeSpec(outChannels, strides[^1] * 2);
            register_module("top_block", topBlock);
        }
        // Registered last, as Detectron2's FPN assigns it last: state_dict() lists fpn_* before bottom_up.*.
        register_module("bottom_up", bottomUp);
        // Detectron2 pads to the stride of the last input (res5: 32), not of the top block (p6: 64): an 800-pixel side
        // stays 800, and p6 is max-pooled from p5 with ceil rounding.
        _sizeDivisibility = (int)strides[^1];
    }

    /// <summary>Detectron2's build_resnet_fpn_backbone: a ResNet (MODEL.RESNETS.*) under MODEL.FPN.*, with LastLevelMaxPool.</summary>
    /// <param name="inputShape">the image's channels</param>
    public static FPN FromConfig(CfgNode cfg, ShapeSpec inputShape)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        return new FPN(
            ResNet.FromConfig(cfg, inputShape),
            cfg.Get<string[]>("MODEL.FPN.IN_FEATURES"),
            cfg.Get<long>("MODEL.FPN.OUT_CHANNELS"),
            cfg.Get<string>("MODEL.FPN.NORM"),
            new LastLevelMaxPool(),
            cfg.Get<string>("MODEL.FPN.FUSE_TYPE"));
    }

    public override IReadOnlyDictionary<string, ShapeSpec> OutputShape => _outputShape;

    /// <summary>The backbone whose features the FPN combines (Detectron2's bottom_up).</summary>
    public Backbone BottomUp => _bottomUp;

    public override int SizeDivisibility => _sizeDivisibility;

    /// <param name="x">(N, 3, H, W), normalised and padded to <see cref="SizeDivisibility"/></param>
    /// <returns>"p2".."p6" (as configured), each (N, outChannels, H/stride, W/stride)</returns>
    public override Dictionary<string, Tensor> forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> bottomUp;
        using (StageProfile.Measure("backbone"))
            bottomUp = _bottomUp.forward(x);
        using var stage = StageProfile.Measure("fpn");
        var results = new Tensor[_inFeatures.Length];
        var last = _inFeatures.Length - 1;
        var previous = _lateralConvs[last].forward(bottomUp[_inFeatures[last]]);
        results[last] = _outputConvs[last].forward(previous);
        for (var i = last - 1; i >= 0; i--)
        {
            var topDown = nn.functional.interpolate(previous, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
            previous = _lateralConvs[i].forward(bottomUp[_inFeatures[i]]).add(topDown, One);
            if (_averageFuse)
                previous = previous.div(Two);
            results[i] = _outputConvs[i].forward(previous);
        }
        var names = _outputShape.Keys.ToArray();
        var outputs = new Dictionary<string, Tensor>();
        for (var i = 0; i < results.Length; i++)
            outputs[names[i]] = results[i].MoveToOuterDisposeScope();
        if (_topBlock is not null)
            outputs[names[^1]] = _topBlock.forward(outputs[LastLevelMaxPool.InFeature]).MoveToOuterDisposeScope();
        return outputs;
    }
}
