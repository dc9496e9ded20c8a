using static TorchSharp.torch;

namespace D2.Detection.Modeling.Backbone;

/// <summary>A residual block of a ResNet stage: knows its channels and stride so stages can be chained and frozen.</summary>
public abstract class ResNetBlock(string name, long inChannels, long outChannels, long stride) : nn.Module<Tensor, Tensor>(name)
{
    public long InChannels { get; } = inChannels;
    public long OutChannels { get; } = outChannels;
    public long Stride { get; } = stride;
}
