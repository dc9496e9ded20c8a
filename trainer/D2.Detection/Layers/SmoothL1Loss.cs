using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>fvcore's smooth_l1_loss with reduction "sum": beta below 1e-5 is plain L1 (Detectron2's default beta is 0).</summary>
public static class SmoothL1Loss
{
    /// <param name="input">any shape</param>
    /// <param name="target">same shape as <paramref name="input"/></param>
    /// <returns>a scalar: the sum over every element</returns>
    public static Tensor Sum(Tensor input, Tensor target, double beta)
    {
        using var scope = NewDisposeScope();
        var n = (input - target).abs();
        var loss = beta < 1e-5 ? n : where(n < beta, 0.5 * n * n / beta, n - 0.5 * beta);
        return loss.sum().MoveToOuterDisposeScope();
    }
}
