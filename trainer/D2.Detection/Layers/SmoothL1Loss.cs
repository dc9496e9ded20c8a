using TorchSharp;
using static D2.Detection.TorchScalars;
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
        using Scalar betaScalar = beta, halfBeta = 0.5 * beta;
        var loss = beta < 1e-5 ? n : where(n.lt(betaScalar), n.mul(HalfFloat).mul(n).div(betaScalar), n.sub(halfBeta));
        return loss.sum().MoveToOuterDisposeScope();
    }
}
