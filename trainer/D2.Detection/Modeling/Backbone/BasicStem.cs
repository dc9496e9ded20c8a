using TorchSharp.Utils;
using D2.Detection.Layers;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.Backbone;

/// <summary>ResNet stem: conv 7x7 stride 2 (no bias) + norm + ReLU, then max-pool 3x3 stride 2. Stride 4.</summary>
public sealed class BasicStem : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "conv1")]
    private readonly Conv2d _conv1;

    public BasicStem(long inChannels = 3, long outChannels = 64, string norm = "BN") : base(nameof(BasicStem))
    {
        OutChannels = outChannels;
        _conv1 = new Conv2d(inChannels, outChannels, kernelSize: 7, stride: 2, padding: 3, bias: false, norm: Norm.Create(norm, outChannels));
        WeightInit.C2MsraFill(_conv1);
        register_module("conv1", _conv1);
    }

    public long OutChannels { get; }
    public const long Stride = 4;

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = _conv1.forward(x).relu_();
        return nn.functional.max_pool2d(y, kernel_size: 3, stride: 2, padding: 1).MoveToOuterDisposeScope();
    }
}
