namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's PeriodicWriter hook: calls every writer when (t + 1) % period == 0 and after the last iteration, and once
/// more after training (for results added then, such as the final evaluation) before closing them. Register it last so
/// it sees what the other hooks stored.
/// </summary>
public sealed class PeriodicWriter : HookBase
{
    private readonly IReadOnlyList<IEventWriter> _writers;

    /// <param name="period">Detectron2's default is 20</param>
    public PeriodicWriter(IEnumerable<IEventWriter> writers, long period = 20)
    {
        ArgumentNullException.ThrowIfNull(writers);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(period);
        _writers = [.. writers];
        Period = period;
    }

    public long Period { get; }
    public IReadOnlyList<IEventWriter> Writers => _writers;

    public override void AfterStep()
    {
        if ((Trainer.Iter + 1) % Period == 0 || Trainer.Iter == Trainer.MaxIter - 1)
            foreach (var writer in _writers)
                writer.Write(Trainer.Storage);
    }

    public override void AfterTrain()
    {
        // A run stopped before its first iteration has nothing to write.
        var ranAny = Trainer.Iter >= Trainer.StartIter;
        foreach (var writer in _writers)
        {
            if (ranAny)
                writer.Write(Trainer.Storage);
            writer.Dispose();
        }
    }
}
