using static TorchSharp.torch;

namespace D2.Detection.Solver;

/// <summary>
/// Detectron2's WarmupMultiStepLR: after the warmup, the multiplier is GAMMA^k with k the number of STEPS s &lt;= t
/// (fvcore's MultiStepParamScheduler: values GAMMA^0..GAMMA^n, milestones STEPS, num_updates MAX_ITER).
/// </summary>
public sealed class WarmupMultiStepLR : WarmupLrScheduler
{
    private readonly long[] _steps;
    private readonly double[] _values;

    /// <param name="steps">SOLVER.STEPS already filtered to &lt;= MAX_ITER (<see cref="LrSchedulerBuilder"/> does it with Detectron2's warning)</param>
    /// <param name="gamma">SOLVER.GAMMA</param>
    public WarmupMultiStepLR(optim.Optimizer optimizer, long maxIter, IReadOnlyList<long> steps, double gamma = 0.1,
        double warmupFactor = 0.001, long warmupIters = 1000, WarmupMethod warmupMethod = WarmupMethod.Linear, bool rescaleInterval = false)
        : base(optimizer, maxIter, warmupFactor, warmupIters, warmupMethod, rescaleInterval)
    {
        ArgumentNullException.ThrowIfNull(steps);
        // fvcore's MultiStepParamScheduler checks: milestones positive, strictly increasing, below num_updates.
        long previous = 0;
        foreach (var step in steps)
        {
            if (step >= maxIter)
                throw new ArgumentException($"SOLVER.STEPS value {step} must be smaller than SOLVER.MAX_ITER ({maxIter}).", nameof(steps));
            if (step <= previous)
                throw new ArgumentException($"SOLVER.STEPS must be positive and strictly increasing; got ({string.Join(", ", steps)}).", nameof(steps));
            previous = step;
        }
        if (maxIter < steps.Count + 1)
            throw new ArgumentException($"SOLVER.MAX_ITER ({maxIter}) must be at least the number of LR values ({steps.Count + 1}).", nameof(maxIter));
        Gamma = gamma;
        _steps = [.. steps];
        _values = Enumerable.Range(0, steps.Count + 1).Select(k => Math.Pow(gamma, k)).ToArray();
        Initialize();
    }

    public double Gamma { get; }
    public IReadOnlyList<long> Steps => _steps;

    protected override double MainSchedule(double where)
    {
        var iteration = (long)((where + WhereEpsilon) * MaxIter);
        // bisect_right: the number of milestones <= iteration.
        var passed = 0;
        while (passed < _steps.Length && _steps[passed] <= iteration)
            passed++;
        return _values[passed];
    }
}
