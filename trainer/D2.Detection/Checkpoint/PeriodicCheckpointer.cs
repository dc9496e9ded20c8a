namespace D2.Detection.Checkpoint;

/// <summary>
/// fvcore's <c>PeriodicCheckpointer</c> schedule: after iteration t, save <c>model_{t:07d}</c> when (t + 1) % period == 0
/// and <c>model_final</c> when t reaches max_iter - 1; keep at most <c>maxToKeep</c> periodic files (never deleting the
/// final one). Writing is the caller's (typically <see cref="TrainingCheckpoint.Save"/>), so the schedule stays independent
/// of what a training state holds.
/// </summary>
public sealed class PeriodicCheckpointer
{
    private readonly Queue<string> _recent = new();

    /// <param name="period">CHECKPOINT_PERIOD</param>
    /// <param name="maxIter">SOLVER.MAX_ITER, or null for no final checkpoint</param>
    /// <param name="maxToKeep">number of periodic checkpoints kept, or null to keep all</param>
    public PeriodicCheckpointer(long period, long? maxIter = null, int? maxToKeep = null, string filePrefix = "model")
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(period);
        if (maxToKeep is <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxToKeep), maxToKeep, "maxToKeep must be positive.");
        Period = period;
        MaxIter = maxIter;
        MaxToKeep = maxToKeep;
        FilePrefix = filePrefix;
    }

    public long Period { get; }
    public long? MaxIter { get; }
    public int? MaxToKeep { get; }
    public string FilePrefix { get; }

    /// <summary>Call after each iteration; <paramref name="save"/> writes the named checkpoint and returns its path.</summary>
    /// <returns>the names saved at this iteration (none, the periodic one, the final one, or both)</returns>
    public IReadOnlyList<string> Step(long iteration, Func<string, string> save)
    {
        ArgumentNullException.ThrowIfNull(save);
        var saved = new List<string>();
        if ((iteration + 1) % Period == 0)
        {
            var name = TrainingCheckpoint.PeriodicName(iteration, FilePrefix);
            var path = save(name);
            saved.Add(name);
            if (MaxToKeep is { } keep)
            {
                _recent.Enqueue(path);
                while (_recent.Count > keep)
                {
                    var old = _recent.Dequeue();
                    if (File.Exists(old) && !old.EndsWith($"{FilePrefix}_final{TrainingCheckpoint.Extension}", StringComparison.Ordinal))
                        File.Delete(old);
                }
            }
        }
        if (MaxIter is { } maxIter && iteration >= maxIter - 1)
        {
            var name = $"{FilePrefix}_final";
            save(name);
            saved.Add(name);
        }
        return saved;
    }
}
