using static TorchSharp.torch;

namespace D2.Detection.Solver;

/// <summary>
/// Detectron2's WarmupStepWithFixedGammaLR: after the warmup, fvcore's StepWithFixedGammaParamScheduler: the run split
/// into NUM_DECAYS + 1 equal parts, multiplier 1, GAMMA, GAMMA^2, ... (by repeated multiplication, as fvcore builds them).
/// </summary>
public sealed class WarmupStepWithFixedGammaLR : WarmupLrScheduler
{
    private readonly double[] _values;

    /// <param name="numDecays">SOLVER.NUM_DECAYS</param>
    public WarmupStepWithFixedGammaLR(optim.Optimizer optimizer, long maxIter, double gamma = 0.1, int numDecays = 3,
        double warmupFactor = 0.001, long warmupIters = 1000, WarmupMethod warmupMethod = WarmupMethod.Linear, bool rescaleInterval = false)
        : base(optimizer, maxIter, warmupFactor, warmupIters, warmupMethod, rescaleInterval)
    {
        if (!(gamma > 0))
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "SOLVER.GAMMA must be positive.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numDecays);
        Gamma = gamma;
        NumDecays = numDecays;
        _values = new double[numDecays + 1];
        _values[0] = 1.0;
        for (var i = 1; i < _values.Length; i++)
            _values[i] = _values[i - 1] * gamma;
        Initialize();
    }

    public double Gamma { get; }
    public int NumDecays { get; }

    // fvcore indexes past the end at where = 1 (the step after the last iteration); the last value is kept there instead.
    protected override double MainSchedule(double where) =>
        _values[Math.Min((int)((where + WhereEpsilon) * _values.Length), _values.Length - 1)];
}
