using TorchSharp.Utils;
using D2.Detection.Config;
using D2.Detection.Layers;
using D2.Detection.Modeling.Backbone;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ProposalGenerator;

/// <summary>
/// Detectron2's StandardRPNHead, shared across levels: <c>conv</c> 3x3 + ReLU, then 1x1 <c>objectness_logits</c> (A per cell)
/// and 1x1 <c>anchor_deltas</c> (A * 4 per cell). All weights N(0, 0.01), biases 0. Registered as "StandardRPNHead"
/// (MODEL.RPN.HEAD_NAME).
/// </summary>
public sealed class StandardRPNHead : nn.Module<IReadOnlyList<Tensor>, (List<Tensor> ObjectnessLogits, List<Tensor> AnchorDeltas)>
{
    [ComponentName(Name = "conv")]
    private readonly Conv2d _conv;
    [ComponentName(Name = "objectness_logits")]
    private readonly Conv2d _objectnessLogits;
    [ComponentName(Name = "anchor_deltas")]
    private readonly Conv2d _anchorDeltas;

    public StandardRPNHead(long inChannels, int numAnchors, int boxDim = 4) : base(nameof(StandardRPNHead))
    {
        _conv = new Conv2d(inChannels, inChannels, 3, padding: 1, activation: x => x.relu_());
        _objectnessLogits = new Conv2d(inChannels, numAnchors, 1);
        _anchorDeltas = new Conv2d(inChannels, numAnchors * boxDim, 1);
        foreach (var conv in new[] { _conv, _objectnessLogits, _anchorDeltas })
            WeightInit.NormalFill(conv.Weight, conv.Bias, 0.01);
        register_module("conv", _conv);
        register_module("objectness_logits", _objectnessLogits);
        register_module("anchor_deltas", _anchorDeltas);
    }

    /// <summary>
    /// Detectron2's StandardRPNHead.from_config: as wide as its input levels (which must agree, the head is shared), with as
    /// many anchors per cell as the anchor generator of MODEL.ANCHOR_GENERATOR.* makes; MODEL.RPN.CONV_DIMS must be [-1].
    /// </summary>
    /// <param name="inputShape">the levels of MODEL.RPN.IN_FEATURES, in order</param>
    public static StandardRPNHead FromConfig(CfgNode cfg, IReadOnlyList<ShapeSpec> inputShape)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Select(s => s.Channels).Distinct().Count() != 1)
            throw new ConfigException("MODEL.RPN.IN_FEATURES must all have the same number of channels (the RPN head is shared).");
        var numAnchors = DefaultAnchorGenerator.FromConfig(cfg, inputShape).NumCellAnchors.Distinct().ToArray();
        if (numAnchors.Length != 1)
            throw new ConfigException("Every feature level must have the same number of anchors per location (the RPN head is shared).");
        var convDims = cfg.Get<long[]>("MODEL.RPN.CONV_DIMS");
        if (convDims is not [-1])
            throw new ConfigException($"MODEL.RPN.CONV_DIMS [{string.Join(", ", convDims)}] is not supported; use [-1] (one conv as wide as its input).");
        return new StandardRPNHead(inputShape[0].Channels, numAnchors[0]);
    }

    /// <param name="features">per level, (N, C, Hi, Wi)</param>
    /// <returns>per level, objectness logits (N, A, Hi, Wi) and anchor deltas (N, A * 4, Hi, Wi)</returns>
    public override (List<Tensor> ObjectnessLogits, List<Tensor> AnchorDeltas) forward(IReadOnlyList<Tensor> features)
    {
        var logits = new List<Tensor>();
        var deltas = new List<Tensor>();
        foreach (var x in features)
        {
            using var scope = NewDisposeScope();
            var t = _conv.forward(x);
            logits.Add(_objectnessLogits.forward(t).MoveToOuterDisposeScope());
            deltas.Add(_anchorDeltas.forward(t).MoveToOuterDisposeScope());
        }
        return (logits, deltas);
    }
}
