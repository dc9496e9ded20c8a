using D2.Detection.Solver;
using static TorchSharp.torch;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's LRScheduler hook: after each iteration, stores the lr that iteration used as "lr" (unsmoothed) and
/// steps the schedule. The lr shown is that of the group with the most parameters (Detectron2's heuristic).
/// </summary>
public sealed class LRScheduler : HookBase
{
    private readonly optim.Optimizer _optimizer;
    private int _bestGroup;

    public LRScheduler(optim.Optimizer optimizer, ILrScheduler scheduler)
    {
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        Scheduler = scheduler ?? throw new ArgumentNullException(nameof(scheduler));
    }

    public ILrScheduler Scheduler { get; }

    public override void BeforeTrain() => _bestGroup = BestParamGroupIndex(_optimizer);

    public override void AfterStep()
    {
        Trainer.Storage.PutScalar("lr", _optimizer.ParamGroups.ElementAt(_bestGroup).LearningRate, smoothingHint: false);
        Scheduler.Step();
    }

    /// <summary>
    /// Detectron2's <c>get_best_param_group_id</c>: the first group with the most parameters; when every group holds one
    /// parameter, the first group with the most common lr.
    /// </summary>
    public static int BestParamGroupIndex(optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var groups = optimizer.ParamGroups.Cast<TorchSharp.Modules.ParamGroup>().ToList();
        if (groups.Count == 0)
            throw new ArgumentException("The optimizer has no parameter groups.", nameof(optimizer));
        var sizes = groups.Select(g => g.Parameters.Count()).ToList();
        var largest = sizes.Max();
        if (largest != 1)
            return sizes.IndexOf(largest);
        // Counter.most_common: highest count first, ties in order of first appearance.
        var lrs = groups.Select(g => g.LearningRate).ToList();
        var mostCommon = lrs.GroupBy(lr => lr).OrderByDescending(g => g.Count()).First().Key;
        return lrs.IndexOf(mostCommon);
    }
}
