using TorchSharp.Utils;
using D2.Detection.Layers;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.Backbone;

/// <summary>
/// ResNet-50+ block: conv1 1x1, conv2 3x3 (groups, dilation), conv3 1x1, each bias-free with its norm; ReLU after
/// conv1, conv2 and the residual add. A 1x1 shortcut exists only when the channel count changes.
/// </summary>
public sealed class BottleneckBlock : ResNetBlock
{
    [ComponentName(Name = "shortcut")]
    private readonly Conv2d? _shortcut;
    [ComponentName(Name = "conv1")]
    private readonly Conv2d _conv1;
    [ComponentName(Name = "conv2")]
    private readonly Conv2d _conv2;
    [ComponentName(Name = "conv3")]
    private readonly Conv2d _conv3;

    /// <param name="strideIn1x1">true for MSRA weights: the stride sits on conv1, not conv2</param>
    public BottleneckBlock(long inChannels, long outChannels, long bottleneckChannels, long stride = 1, long numGroups = 1,
        string norm = "BN", bool strideIn1x1 = false, long dilation = 1)
        : base(nameof(BottleneckBlock), inChannels, outChannels, stride)
    {
        if (inChannels != outChannels)
        {
            _shortcut = new Conv2d(inChannels, outChannels, 1, stride: stride, bias: false, norm: Norm.Create(norm, outChannels));
            register_module("shortcut", _shortcut);
        }
        var (stride1x1, stride3x3) = strideIn1x1 ? (stride, 1L) : (1L, stride);
        _conv1 = new Conv2d(inChannels, bottleneckChannels, 1, stride: stride1x1, bias: false, norm: Norm.Create(norm, bottleneckChannels));
        _conv2 = new Conv2d(bottleneckChannels, bottleneckChannels, 3, stride: stride3x3, padding: dilation, dilation: dilation,
            groups: numGroups, bias: false, norm: Norm.Create(norm, bottleneckChannels));
        _conv3 = new Conv2d(bottleneckChannels, outChannels, 1, bias: false, norm: Norm.Create(norm, outChannels));
        register_module("conv1", _conv1);
        register_module("conv2", _conv2);
        register_module("conv3", _conv3);
        foreach (var conv in new[] { _conv1, _conv2, _conv3, _shortcut })
            if (conv is not null)
                WeightInit.C2MsraFill(conv);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // In place on fresh outputs that no backward reads (conv, norm and add save inputs, not outputs), as torchvision's
        // ResNet does: one pass and no allocation less per step on the largest activations of the model.
        var y = _conv1.forward(x).relu_();
        y = _conv2.forward(y).relu_();
        y = _conv3.forward(y);
        y.add_(_shortcut is null ? x : _shortcut.forward(x), One);
        return y.relu_().MoveToOuterDisposeScope();
    }
}
