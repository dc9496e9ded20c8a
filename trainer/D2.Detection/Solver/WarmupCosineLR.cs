using static TorchSharp.torch;

namespace D2.Detection.Solver;

/// <summary>
/// Detectron2's WarmupCosineLR: after the warmup, the multiplier follows fvcore's CosineParamScheduler(1, end) over the
/// whole run: end + 0.5 (1 - end)(1 + cos(pi t / MAX_ITER)), end = BASE_LR_END / BASE_LR.
/// </summary>
public sealed class WarmupCosineLR : WarmupLrScheduler
{
    /// <param name="endValue">BASE_LR_END / BASE_LR, in [0, 1]</param>
    public WarmupCosineLR(optim.Optimizer optimizer, long maxIter, double endValue = 0.0,
        double warmupFactor = 0.001, long warmupIters = 1000, WarmupMethod warmupMethod = WarmupMethod.Linear, bool rescaleInterval = false)
        : base(optimizer, maxIter, warmupFactor, warmupIters, warmupMethod, rescaleInterval)
    {
        if (!(endValue is >= 0.0 and <= 1.0))
            throw new ArgumentOutOfRangeException(nameof(endValue), endValue, "SOLVER.BASE_LR_END / SOLVER.BASE_LR must lie in [0, 1].");
        EndValue = endValue;
        Initialize();
    }

    public double EndValue { get; }

    protected override double MainSchedule(double where) => EndValue + 0.5 * (1.0 - EndValue) * (1 + Math.Cos(Math.PI * where));
}
