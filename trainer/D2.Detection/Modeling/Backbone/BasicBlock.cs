using TorchSharp.Utils;
using D2.Detection.Layers;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.Backbone;

/// <summary>ResNet-18/34 block: two 3x3 convs (bias-free, with norm), ReLU after the first and after the residual add.</summary>
public sealed class BasicBlock : ResNetBlock
{
    [ComponentName(Name = "shortcut")]
    private readonly Conv2d? _shortcut;
    [ComponentName(Name = "conv1")]
    private readonly Conv2d _conv1;
    [ComponentName(Name = "conv2")]
    private readonly Conv2d _conv2;

    public BasicBlock(long inChannels, long outChannels, long stride = 1, string norm = "BN")
        : base(nameof(BasicBlock), inChannels, outChannels, stride)
    {
        if (inChannels != outChannels)
        {
            _shortcut = new Conv2d(inChannels, outChannels, 1, stride: stride, bias: false, norm: Norm.Create(norm, outChannels));
            register_module("shortcut", _shortcut);
        }
        _conv1 = new Conv2d(inChannels, outChannels, 3, stride: stride, padding: 1, bias: false, norm: Norm.Create(norm, outChannels));
        _conv2 = new Conv2d(outChannels, outChannels, 3, padding: 1, bias: false, norm: Norm.Create(norm, outChannels));
        register_module("conv1", _conv1);
        register_module("conv2", _conv2);
        foreach (var conv in new[] { _conv1, _conv2, _shortcut })
            if (conv is not null)
                WeightInit.C2MsraFill(conv);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // In place on fresh outputs that no backward reads, as in BottleneckBlock.
        var y = _conv1.forward(x).relu_();
        y = _conv2.forward(y);
        y.add_(_shortcut is null ? x : _shortcut.forward(x), One);
        return y.relu_().MoveToOuterDisposeScope();
    }
}
