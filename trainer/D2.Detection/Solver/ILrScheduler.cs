namespace D2.Detection.Solver;

/// <summary>
/// An iteration-based LR schedule driving an optimizer's parameter groups, as torch's LRScheduler that Detectron2's
/// <c>LRMultiplier</c> extends: construction applies the lr of iteration 0, and each <see cref="Step"/> (after an
/// iteration) applies the next one. "Epoch" in torch's names means iteration here.
/// </summary>
public interface ILrScheduler
{
    /// <summary>torch's <c>last_epoch</c>: the iteration whose lr the optimizer currently holds.</summary>
    long LastIteration { get; }

    /// <summary>torch's <c>base_lrs</c>: each parameter group's initial lr, which the schedule multiplies.</summary>
    IReadOnlyList<double> BaseLrs { get; }

    /// <summary>The schedule's factor at <paramref name="iteration"/> (0-based), the same for every group.</summary>
    double Multiplier(long iteration);

    /// <summary>Each group's lr at <paramref name="iteration"/>: base lr x <see cref="Multiplier"/>.</summary>
    IReadOnlyList<double> GetLr(long iteration);

    /// <summary>Advances to the next iteration and writes its lr into the optimizer's groups.</summary>
    void Step();

    /// <summary>The resumable state, Detectron2's <c>{"base_lrs": [...], "last_epoch": n}</c>, as JSON.</summary>
    string StateToJson();

    /// <summary>Restores a state written by <see cref="StateToJson"/> and applies its lr to the optimizer.</summary>
    void LoadStateFromJson(string json);
}
