using D2.Detection.Config;
using static TorchSharp.torch;

namespace D2.Detection.Solver;

/// <summary>Detectron2's <c>build_lr_scheduler</c>: the schedule SOLVER.LR_SCHEDULER_NAME names, with SOLVER.WARMUP_*.</summary>
public static class LrSchedulerBuilder
{
    /// <summary>Names accepted in SOLVER.LR_SCHEDULER_NAME.</summary>
    public static readonly IReadOnlyList<string> Names = ["WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR"];

    /// <param name="optimizer">its groups' current lrs are the base lrs; the lr of iteration 0 is applied now</param>
    /// <param name="log">receives Detectron2's warning when SOLVER.STEPS holds values past SOLVER.MAX_ITER</param>
    public static WarmupLrScheduler Build(CfgNode cfg, optim.Optimizer optimizer, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var maxIter = cfg.Get<long>("SOLVER.MAX_ITER");
        var warmupFactor = cfg.Get<double>("SOLVER.WARMUP_FACTOR");
        var warmupIters = cfg.Get<long>("SOLVER.WARMUP_ITERS");
        var rescale = cfg.Get<bool>("SOLVER.RESCALE_INTERVAL");
        var warmupMethod = cfg.Get<string>("SOLVER.WARMUP_METHOD") switch
        {
            "linear" => WarmupMethod.Linear,
            "constant" => WarmupMethod.Constant,
            var other => throw new ArgumentException($"SOLVER.WARMUP_METHOD '{other}' is unknown; use 'linear' or 'constant'."),
        };
        var name = cfg.Get<string>("SOLVER.LR_SCHEDULER_NAME");
        switch (name)
        {
            case "WarmupMultiStepLR":
                var allSteps = cfg.Get<long[]>("SOLVER.STEPS");
                var steps = allSteps.Where(s => s <= maxIter).ToArray();
                if (steps.Length != allSteps.Length)
                    log?.WriteLine("WARNING: SOLVER.STEPS contains values larger than SOLVER.MAX_ITER. These values will be ignored.");
                return new WarmupMultiStepLR(optimizer, maxIter, steps, cfg.Get<double>("SOLVER.GAMMA"), warmupFactor, warmupIters, warmupMethod, rescale);
            case "WarmupCosineLR":
                var endValue = cfg.Get<double>("SOLVER.BASE_LR_END") / cfg.Get<double>("SOLVER.BASE_LR");
                return new WarmupCosineLR(optimizer, maxIter, endValue, warmupFactor, warmupIters, warmupMethod, rescale);
            case "WarmupStepWithFixedGammaLR":
                return new WarmupStepWithFixedGammaLR(optimizer, maxIter, cfg.Get<double>("SOLVER.GAMMA"), cfg.Get<int>("SOLVER.NUM_DECAYS"),
                    warmupFactor, warmupIters, warmupMethod, rescale);
            default:
                throw new ArgumentException($"SOLVER.LR_SCHEDULER_NAME '{name}' is unknown; use one of: {string.Join(", ", Names)}.");
        }
    }
}
