using D2.Detection.Layers;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.RoiHeads;

/// <summary>
/// Detectron2's FastRCNNConvFCHead: optional 3x3 convs (<c>conv1</c>..), then flatten and fully connected layers
/// (<c>fc1</c>, <c>fc2</c>, ...), each followed by ReLU. The FPN configs use no conv and two 1024-wide fcs.
/// </summary>
public sealed class FastRCNNConvFCHead : nn.Module<Tensor, Tensor>
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

    /// <summary>Width of the output: the last fc's size (or the flattened conv output when there is no fc).</summary>
    public long OutputSize { get; }

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
