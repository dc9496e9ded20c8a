namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's HookBase: code the trainer runs around the loop, in registration order:
/// <code>
/// BeforeTrain()
/// for iter in [start, max): BeforeStep(); RunStep(); AfterStep()
/// AfterTrain()
/// </code>
/// BeforeStep should take negligible time (the iteration timer measures from it); anything slow belongs in AfterStep.
/// </summary>
public abstract class HookBase
{
    private TrainerBase? _trainer;

    /// <summary>The trainer this hook is registered with.</summary>
    /// <exception cref="InvalidOperationException">the hook is not registered</exception>
    public TrainerBase Trainer
    {
        get => _trainer ?? throw new InvalidOperationException($"{GetType().Name} is not registered with a trainer.");
        internal set => _trainer = value;
    }

    /// <summary>Called once before the first iteration.</summary>
    public virtual void BeforeTrain()
    {
    }

    /// <summary>Called once after the last iteration, also when training failed (then Trainer.Iter + 1 &lt; MaxIter).</summary>
    public virtual void AfterTrain()
    {
    }

    /// <summary>Called before each iteration.</summary>
    public virtual void BeforeStep()
    {
    }

    /// <summary>Called after each iteration.</summary>
    public virtual void AfterStep()
    {
    }
}
