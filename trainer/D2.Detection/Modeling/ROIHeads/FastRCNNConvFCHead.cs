using D2.Detection.Config;
using D2.Detection.Layers;
using D2.Detection.Modeling.Backbone;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ROIHeads;

/// <summary>
/// Detectron2's FastRCNNConvFCHead: optional 3x3 convs (<c>conv1</c>..), then flatten and fully connected layers
/// (<c>fc1</c>, <c>fc2</c>, ...), each followed by ReLU. The FPN configs use no conv and two 1024-wide fcs. Registered as
/// "FastRCNNConvFCHead" (MODEL.ROI_BOX_HEAD.NAME).
/// </summary>
public sealed class FastRCNNConvFCHead : ROIBoxHead
{
    private readonly List<Conv2d> _convs = [];
    private readonly List<TorchSharp.Modules.Linear> _fcs = [];

    /// <param name="inputShape">pooled features (channels, height, width), e.g. (256, 7, 7)</param>
    public FastRCNNConvFCHead((long Channels, long Height, long Width) inputShape, IReadOnlyList<long> convDims, IReadOnlyList<long> fcDims, string convNorm = "")
        : base(nameof(FastRCNNConvFCHead))
    {
        if (convDims.Count + fcDims.Count == 0)
            throw new ArgumentException("The box head needs at least one conv or fc layer (MODEL.ROI_BOX_HEAD.NUM_CONV + NUM_FC > 0).");
        var channels = inputShape.Channels;
        for (var k = 0; k < convDims.Count; k++)
        {
            var conv = new Conv2d(channels, convDims[k], 3, padding: 1, bias: convNorm.Length == 0,
                norm: Norm.Create(convNorm, convDims[k]), activation: x => x.relu_());
            WeightInit.C2MsraFill(conv);
            register_module($"conv{k + 1}", conv);
            _convs.Add(conv);
            channels = convDims[k];
        }
        var features = channels * inputShape.Height * inputShape.Width;
        for (var k = 0; k < fcDims.Count; k++)
        {
            var fc = nn.Linear(features, fcDims[k]);
            WeightInit.C2XavierFill(fc.weight!, fc.bias);
            register_module($"fc{k + 1}", fc);
            _fcs.Add(fc);
            features = fcDims[k];
        }
        OutputSize = features;
    }

    /// <summary>Detectron2's FastRCNNConvFCHead.from_config: MODEL.ROI_BOX_HEAD.{NUM_CONV, CONV_DIM, NUM_FC, FC_DIM, NORM}.</summary>
    /// <param name="inputShape">the pooled features: channels, height and width</param>
    public static FastRCNNConvFCHead FromConfig(CfgNode cfg, ShapeSpec inputShape)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(inputShape);
        return new FastRCNNConvFCHead((inputShape.Channels, inputShape.Height, inputShape.Width),
            Enumerable.Repeat(cfg.Get<long>("MODEL.ROI_BOX_HEAD.CONV_DIM"), cfg.Get<int>("MODEL.ROI_BOX_HEAD.NUM_CONV")).ToArray(),
            Enumerable.Repeat(cfg.Get<long>("MODEL.ROI_BOX_HEAD.FC_DIM"), cfg.Get<int>("MODEL.ROI_BOX_HEAD.NUM_FC")).ToArray(),
            cfg.Get<string>("MODEL.ROI_BOX_HEAD.NORM"));
    }

    /// <summary>Width of the output: the last fc's size (or the flattened conv output when there is no fc).</summary>
    public override long OutputSize { get; }

    /// <param name="x">(R, C, H, W) pooled box features</param>
    /// <returns>(R, OutputSize)</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        foreach (var conv in _convs)
            x = conv.forward(x);
        if (_fcs.Count > 0)
        {
            // Channel-major (c, y, x) flattening, as Detectron2's torch.flatten(x, start_dim=1).
            x = x.flatten(1);
            foreach (var fc in _fcs)
                x = fc.forward(x).relu_();
        }
        return x.MoveToOuterDisposeScope();
    }
}
