namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's EventStorage: the scalars of a training run, each with its history, its latest (value, iteration) and
/// a smoothing hint telling writers whether to report a windowed median (losses, statistics, times) or the latest value
/// (lr, eta, evaluation results). Scalars are listed in the order they were first put, as Detectron2's dicts are.
/// </summary>
public sealed class EventStorage
{
    /// <summary>Detectron2 writers' smoothing window (median over the last 20 iterations).</summary>
    public const int DefaultWindowSize = 20;

    private readonly OrderedDictionary<string, HistoryBuffer> _history = new(StringComparer.Ordinal);
    private readonly OrderedDictionary<string, (double Value, long Iteration)> _latest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, bool> _smoothingHints = new(StringComparer.Ordinal);
    private readonly int _historyLength;

    /// <param name="startIter">the iteration number to start with</param>
    /// <param name="historyLength">values kept per scalar (see <see cref="HistoryBuffer"/>)</param>
    public EventStorage(long startIter = 0, int historyLength = HistoryBuffer.DefaultMaxLength)
    {
        Iter = startIter;
        _historyLength = historyLength;
    }

    /// <summary>The current iteration; the trainer keeps it equal to its own during each step.</summary>
    public long Iter { get; set; }

    /// <summary>Adds <paramref name="value"/> to the history of <paramref name="name"/> at the current (or given) iteration.</summary>
    /// <param name="smoothingHint">whether writers should smooth it (median over a window); fixed by the first put</param>
    /// <exception cref="InvalidOperationException">the scalar was put before with the other hint</exception>
    public void PutScalar(string name, double value, bool smoothingHint = true, long? curIter = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var iteration = curIter ?? Iter;
        if (_smoothingHints.TryGetValue(name, out var existing))
        {
            if (existing != smoothingHint)
                throw new InvalidOperationException($"Scalar {name} was put with a different smoothing_hint!");
        }
        else
        {
            _smoothingHints[name] = smoothingHint;
        }
        if (!_history.TryGetValue(name, out var history))
        {
            history = new HistoryBuffer(_historyLength);
            _history.Add(name, history);
        }
        history.Update(value, iteration);
        _latest[name] = (value, iteration);
    }

    /// <summary>Puts several scalars with the same hint and iteration.</summary>
    public void PutScalars(IEnumerable<KeyValuePair<string, double>> scalars, bool smoothingHint = true, long? curIter = null)
    {
        ArgumentNullException.ThrowIfNull(scalars);
        foreach (var (name, value) in scalars)
            PutScalar(name, value, smoothingHint, curIter);
    }

    /// <exception cref="KeyNotFoundException">no scalar of that name was put</exception>
    public HistoryBuffer History(string name) =>
        _history.TryGetValue(name, out var history) ? history : throw new KeyNotFoundException($"No history metric available for {name}!");

    public bool TryGetHistory(string name, out HistoryBuffer history) => _history.TryGetValue(name, out history!);

    /// <summary>Every scalar's history, in first-put order.</summary>
    public IReadOnlyDictionary<string, HistoryBuffer> Histories() => _history;

    /// <summary>Each scalar's most recent value and the iteration it was put at, in first-put order.</summary>
    public IReadOnlyDictionary<string, (double Value, long Iteration)> Latest() => _latest;

    public IReadOnlyDictionary<string, bool> SmoothingHints() => _smoothingHints;

    /// <summary>
    /// As <see cref="Latest"/>, but smoothed scalars report the median of the samples put in the last
    /// <paramref name="windowSize"/> iterations (Detectron2's <c>latest_with_smoothing_hint</c>).
    /// </summary>
    public IReadOnlyDictionary<string, (double Value, long Iteration)> LatestWithSmoothingHint(int windowSize = DefaultWindowSize)
    {
        var result = new OrderedDictionary<string, (double Value, long Iteration)>(StringComparer.Ordinal);
        foreach (var (name, (value, iteration)) in _latest)
            result[name] = (_smoothingHints[name] ? _history[name].Median(CountSamples(name, windowSize)) : value, iteration);
        return result;
    }

    /// <summary>The number of samples of <paramref name="name"/> put in the last <paramref name="windowSize"/> iterations (up to its latest).</summary>
    public int CountSamples(string name, int windowSize = DefaultWindowSize)
    {
        var history = History(name);
        var lastIteration = history.At(history.Count - 1).Iteration;
        var samples = 0;
        for (var i = history.Count - 1; i >= 0 && history.At(i).Iteration > lastIteration - windowSize; i--)
            samples++;
        return samples;
    }

    /// <summary>Advances <see cref="Iter"/> by one.</summary>
    public void Step() => Iter++;
}
