using D2.Detection.Checkpoint;
using D2.Detection.Solver;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's PeriodicCheckpointer hook: after iteration t, saves <c>model_{t:07d}</c> when (t + 1) % period == 0 and
/// <c>model_final</c> after the last iteration, each a <see cref="TrainingCheckpoint"/> holding the weights, the SGD
/// momentum buffers, the LR scheduler's state, the iteration and the torch random state, so that a resumed run
/// continues exactly. Files and <c>last_checkpoint</c> are written atomically.
/// </summary>
public sealed class PeriodicCheckpointerHook : HookBase
{
    private readonly nn.Module _model;
    private readonly SGD _optimizer;
    private readonly ILrScheduler _scheduler;
    private readonly IReadOnlyDictionary<string, string>? _metadata;
    private PeriodicCheckpointer? _schedule;

    /// <param name="directory">where checkpoints and last_checkpoint go (Detectron2: OUTPUT_DIR)</param>
    /// <param name="period">SOLVER.CHECKPOINT_PERIOD</param>
    /// <param name="maxToKeep">periodic checkpoints kept (older ones deleted), or null for all</param>
    /// <param name="metadata">extra header strings saved in every checkpoint</param>
    public PeriodicCheckpointerHook(string directory, long period, nn.Module model, SGD optimizer, ILrScheduler scheduler,
        int? maxToKeep = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(period);
        Directory = directory;
        Period = period;
        MaxToKeep = maxToKeep;
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _optimizer = optimizer ?? throw new ArgumentNullException(nameof(optimizer));
        _scheduler = scheduler ?? throw new ArgumentNullException(nameof(scheduler));
        _metadata = metadata;
    }

    public string Directory { get; }
    public long Period { get; }
    public int? MaxToKeep { get; }

    /// <summary>Paths written so far, oldest first.</summary>
    public List<string> Saved { get; } = [];

    public override void BeforeTrain() => _schedule = new PeriodicCheckpointer(Period, Trainer.MaxIter, MaxToKeep);

    public override void AfterStep()
    {
        var schedule = _schedule ?? throw new InvalidOperationException("BeforeTrain has not run.");
        schedule.Step(Trainer.Iter, Save);
    }

    /// <summary>Writes the training state after the current iteration under <paramref name="name"/>; returns the path.</summary>
    public string Save(string name)
    {
        var metadata = new Dictionary<string, string>(_metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [TorchRandomState.MetadataKey] = TorchRandomState.Capture(),
        };
        var path = TrainingCheckpoint.Save(Directory, name, _model, SgdState.Capture(_optimizer, _model), Trainer.Iter,
            _scheduler.StateToJson(), metadata);
        Saved.Add(path);
        Trainer.Log.WriteLine($"Saving checkpoint to {path}");
        return path;
    }
}
