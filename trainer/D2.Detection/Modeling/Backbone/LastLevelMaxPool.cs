using static TorchSharp.torch;

namespace D2.Detection.Modeling.Backbone;

/// <summary>FPN's top block: p6 = max-pool (kernel 1, stride 2) of p5, i.e. every other pixel. No parameters.</summary>
public sealed class LastLevelMaxPool() : nn.Module<Tensor, Tensor>(nameof(LastLevelMaxPool))
{
    /// <summary>The FPN output it reads.</summary>
    public const string InFeature = "p5";

    public override Tensor forward(Tensor x) => nn.functional.max_pool2d(x, kernel_size: 1, stride: 2, padding: 0);
}
