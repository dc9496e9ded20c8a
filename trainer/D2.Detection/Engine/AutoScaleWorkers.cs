using System.Globalization;
using D2.Detection.Config;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's <c>DefaultTrainer.auto_scale_workers</c>: a config written for SOLVER.REFERENCE_WORLD_SIZE workers,
/// run on another number of workers, keeps the images per worker (the total batch scales), scales the learning rate
/// linearly and shortens or stretches the schedule (MAX_ITER, WARMUP_ITERS, STEPS, EVAL_PERIOD, CHECKPOINT_PERIOD) by
/// the same factor. REFERENCE_WORLD_SIZE 0 (the default) turns it off.
/// </summary>
public static class AutoScaleWorkers
{
    /// <returns><paramref name="cfg"/> itself when nothing scales, else a scaled clone (frozen when the input was)</returns>
    /// <exception cref="ArgumentException">SOLVER.IMS_PER_BATCH does not divide by SOLVER.REFERENCE_WORLD_SIZE</exception>
    public static CfgNode Apply(CfgNode cfg, int numWorkers, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentOutOfRangeException.ThrowIfLessThan(numWorkers, 1);
        var reference = cfg.Get<int>("SOLVER.REFERENCE_WORLD_SIZE");
        if (reference == 0 || reference == numWorkers)
            return cfg;
        if (reference < 0)
            throw new ArgumentException($"SOLVER.REFERENCE_WORLD_SIZE must be 0 (off) or the number of workers the config was written for, not {reference}.");
        var total = cfg.Get<int>("SOLVER.IMS_PER_BATCH");
        if (total % reference != 0)
            throw new ArgumentException(
                $"Invalid SOLVER.REFERENCE_WORLD_SIZE in config: SOLVER.IMS_PER_BATCH ({total}) must be divisible by it ({reference}).");
        var scaled = cfg.Clone();
        var frozen = cfg.IsFrozen;
        scaled.Defrost();
        var scale = numWorkers / (double)reference;
        // Python's int(round(x)): halves go to the even neighbour.
        static long Round(double x) => (long)Math.Round(x, MidpointRounding.ToEven);
        var batch = Round(total * scale);
        var lr = cfg.Get<double>("SOLVER.BASE_LR") * scale;
        var maxIter = Round(cfg.Get<long>("SOLVER.MAX_ITER") / scale);
        var warmup = Round(cfg.Get<long>("SOLVER.WARMUP_ITERS") / scale);
        scaled.Set("SOLVER.IMS_PER_BATCH", batch);
        scaled.Set("SOLVER.BASE_LR", lr);
        scaled.Set("SOLVER.MAX_ITER", maxIter);
        scaled.Set("SOLVER.WARMUP_ITERS", warmup);
        scaled.Set("SOLVER.STEPS", cfg.Get<long[]>("SOLVER.STEPS").Select(s => Round(s / scale)).ToArray());
        scaled.Set("TEST.EVAL_PERIOD", Round(cfg.Get<long>("TEST.EVAL_PERIOD") / scale));
        scaled.Set("SOLVER.CHECKPOINT_PERIOD", Round(cfg.Get<long>("SOLVER.CHECKPOINT_PERIOD") / scale));
        scaled.Set("SOLVER.REFERENCE_WORLD_SIZE", numWorkers); // maintains the invariant: scaling again is a no-op
        log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Auto-scaling the config to batch_size={batch}, learning_rate={PythonRepr.Float(lr)}, max_iter={maxIter}, warmup={warmup}."));
        if (frozen)
            scaled.Freeze();
        return scaled;
    }
}
