using D2.Detection.Config;
using D2.Detection.Layers;
using D2.Detection.Modeling.Backbone;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ROIHeads;

/// <summary>
/// Detectron2's MaskRCNNConvUpsampleHead: <c>mask_fcn1..N</c> (3x3 conv + ReLU), <c>deconv</c> (2x2 stride-2 transposed
/// conv) + ReLU, then the 1x1 <c>predictor</c> with one logit map per foreground class (one in total if class-agnostic).
/// Losses and inference live in <see cref="MaskRCNNLoss"/> and <see cref="MaskRCNNInference"/>. Registered as
/// "MaskRCNNConvUpsampleHead" (MODEL.ROI_MASK_HEAD.NAME).
/// </summary>
public sealed class MaskRCNNConvUpsampleHead : nn.Module<Tensor, Tensor>
{
    // Submodules live in fields and are registered by their Detectron2 names: to(device/dtype) moves them in place.
    private readonly Conv2d[] _convs;
    [ComponentName(Name = "deconv")]
    private readonly TorchSharp.Modules.ConvTranspose2d _deconv;
    [ComponentName(Name = "predictor")]
    private readonly Conv2d _predictor;

    /// <param name="inputChannels">channels of the pooled ROI features (256 for FPN, 2048 for C4's res5)</param>
    /// <param name="numClasses">foreground classes K (MODEL.ROI_HEADS.NUM_CLASSES)</param>
    /// <param name="convDims">output channels of each 3x3 conv <c>mask_fcn1..N</c>; empty for none (C4)</param>
    /// <param name="convNorm">normalisation of the convs ("" none, "GN", ...); the convs have a bias only without one</param>
    /// <param name="clsAgnosticMask">predict one mask for all classes instead of one per class</param>
    /// <param name="deconvDim">output channels of <c>deconv</c>; defaults to the last conv's (or, without convs, the input's)</param>
    public MaskRCNNConvUpsampleHead(long inputChannels, int numClasses, IReadOnlyList<long> convDims, string convNorm = "",
        bool clsAgnosticMask = false, long? deconvDim = null) : base(nameof(MaskRCNNConvUpsampleHead))
    {
        ArgumentNullException.ThrowIfNull(convDims);
        ArgumentNullException.ThrowIfNull(convNorm);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputChannels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        if (convDims.Any(d => d <= 0))
            throw new ArgumentException($"Mask head conv dims must be positive; got [{string.Join(", ", convDims)}].", nameof(convDims));

        var channels = inputChannels;
        _convs = new Conv2d[convDims.Count];
        for (var k = 0; k < convDims.Count; k++)
        {
            _convs[k] = new Conv2d(channels, convDims[k], 3, padding: 1, bias: convNorm.Length == 0,
                norm: Norm.Create(convNorm, convDims[k]), activation: x => x.relu_());
            WeightInit.C2MsraFill(_convs[k]);
            register_module($"mask_fcn{k + 1}", _convs[k]);
            channels = convDims[k];
        }

        var upsampledChannels = deconvDim ?? channels;
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(upsampledChannels, nameof(deconvDim));
        _deconv = nn.ConvTranspose2d(channels, upsampledChannels, 2, stride: 2);
        // The transposed weight is (in, out, 2, 2); PyTorch's fan_out reads dim 0, so the std is sqrt(2 / (in * 4)).
        WeightInit.C2MsraFill(_deconv.weight!, _deconv.bias);
        register_module("deconv", _deconv);

        _predictor = new Conv2d(upsampledChannels, clsAgnosticMask ? 1 : numClasses, 1);
        WeightInit.NormalFill(_predictor.Weight, _predictor.Bias, 0.001);
        register_module("predictor", _predictor);
    }

    /// <summary>
    /// MODEL.ROI_MASK_HEAD.{NUM_CONV, CONV_DIM, NORM, CLS_AGNOSTIC_MASK} and MODEL.ROI_HEADS.NUM_CLASSES; the deconv has
    /// CONV_DIM outputs, as Detectron2's <c>conv_dims = [CONV_DIM] * (NUM_CONV + 1)</c>.
    /// </summary>
    /// <param name="inputChannels">channels of the pooled features the head receives</param>
    public static MaskRCNNConvUpsampleHead FromConfig(CfgNode cfg, long inputChannels)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var convDim = cfg.Get<long>("MODEL.ROI_MASK_HEAD.CONV_DIM");
        var numConv = cfg.Get<int>("MODEL.ROI_MASK_HEAD.NUM_CONV");
        return new MaskRCNNConvUpsampleHead(inputChannels, cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES"),
            Enumerable.Repeat(convDim, numConv).ToArray(), cfg.Get<string>("MODEL.ROI_MASK_HEAD.NORM"),
            cfg.Get<bool>("MODEL.ROI_MASK_HEAD.CLS_AGNOSTIC_MASK"), deconvDim: convDim);
    }

    /// <summary>The registry's form of <see cref="FromConfig(CfgNode, long)"/>: the input shape's channels.</summary>
    public static MaskRCNNConvUpsampleHead FromConfig(CfgNode cfg, ShapeSpec inputShape)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        return FromConfig(cfg, inputShape.Channels);
    }

    /// <summary>The most channels of any layer's output (the convs, the deconv, the predictor).</summary>
    public long WidestChannels => _convs.Select(c => c.OutChannels).Append(_deconv.out_channels).Append(_predictor.OutChannels).Max();

    /// <summary>Number of mask channels: K, or 1 when class-agnostic.</summary>
    public long NumMaskChannels => _predictor.OutChannels;

    /// <param name="x">(R, C, S, S) pooled ROI features (S = 14 for FPN)</param>
    /// <returns>(R, K or 1, 2S, 2S) mask logits</returns>
    public override Tensor forward(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = NewDisposeScope();
        var y = x;
        foreach (var conv in _convs)
            y = conv.forward(y);
        y = _deconv.forward(y).relu_();
        return _predictor.forward(y).MoveToOuterDisposeScope();
    }
}
