namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's TrainerBase: a loop over iterations [StartIter, MaxIter) that runs <see cref="RunStep"/> between the
/// hooks' BeforeStep and AfterStep, inside an <see cref="EventStorage"/> whose iteration follows the loop's.
/// </summary>
public abstract class TrainerBase
{
    private readonly List<HookBase> _hooks = [];
    private EventStorage? _storage;

    /// <summary>The current iteration; after a completed run, MaxIter (Detectron2's convention that tells hooks training finished).</summary>
    public long Iter { get; protected set; }

    public long StartIter { get; protected set; }
    public long MaxIter { get; protected set; }

    /// <summary>Where progress messages go ("Starting training from iteration ..."); silent by default.</summary>
    public TextWriter Log { get; set; } = TextWriter.Null;

    /// <summary>The storage of the current (or last) run.</summary>
    /// <exception cref="InvalidOperationException">training has not started</exception>
    public EventStorage Storage => _storage ?? throw new InvalidOperationException("The event storage exists once training starts.");

    public IReadOnlyList<HookBase> Hooks => _hooks;

    /// <summary>Registers hooks to run in the given order (nulls are skipped, as in Detectron2).</summary>
    public void RegisterHooks(IEnumerable<HookBase?> hooks)
    {
        ArgumentNullException.ThrowIfNull(hooks);
        foreach (var hook in hooks)
        {
            if (hook is null)
                continue;
            hook.Trainer = this;
            _hooks.Add(hook);
        }
    }

    /// <summary>True when the last <see cref="Train"/> ended early because a stop was requested.</summary>
    public bool Stopped { get; private set; }

    /// <summary>
    /// Runs iterations [startIter, maxIter); AfterTrain runs whether or not an iteration throws. When
    /// <paramref name="stop"/> is cancelled, the loop ends before the next iteration with <see cref="Iter"/> on the last
    /// finished one (startIter - 1 when none ran), so hooks see an unfinished run (no final checkpoint or evaluation).
    /// </summary>
    public void Train(long startIter, long maxIter, CancellationToken stop = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startIter);
        Log.WriteLine($"Starting training from iteration {startIter}");
        Iter = StartIter = startIter;
        MaxIter = maxIter;
        Stopped = false;
        _storage = new EventStorage(startIter);
        try
        {
            BeforeTrain();
            for (Iter = startIter; Iter < maxIter; Iter++)
            {
                if (StopRequested(stop))
                {
                    Stopped = true;
                    Iter--;
                    Log.WriteLine(Iter >= startIter
                        ? $"Stop requested: training ends after iteration {Iter}"
                        : "Stop requested: training ends before its first iteration");
                    break;
                }
                BeforeStep();
                RunStep();
                AfterStep();
            }
            // Python's loop variable stays at maxIter - 1 and is then incremented; with no iteration it is start + 1.
            if (startIter >= maxIter)
                Iter = startIter + 1;
        }
        catch (Exception e)
        {
            Log.WriteLine($"Exception during training: {e.GetType().Name}: {e.Message}");
            throw;
        }
        finally
        {
            AfterTrain();
        }
    }

    /// <summary>One iteration of training.</summary>
    protected abstract void RunStep();

    /// <summary>Whether to stop before the next iteration; distributed trainers agree on it so that every rank stops at the same one.</summary>
    protected virtual bool StopRequested(CancellationToken stop) => stop.IsCancellationRequested;

    private void BeforeTrain()
    {
        foreach (var hook in _hooks)
            hook.BeforeTrain();
    }

    private void AfterTrain()
    {
        Storage.Iter = Iter;
        foreach (var hook in _hooks)
            hook.AfterTrain();
    }

    private void BeforeStep()
    {
        // Keeps storage.iter == trainer.iter for the whole step.
        Storage.Iter = Iter;
        foreach (var hook in _hooks)
            hook.BeforeStep();
    }

    private void AfterStep()
    {
        foreach (var hook in _hooks)
            hook.AfterStep();
    }
}
