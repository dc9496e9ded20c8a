namespace D2.Detection.Engine;

/// <summary>
/// fvcore's HistoryBuffer: a scalar's (value, iteration) series with medians and means over the latest values and a
/// running global average. Only the latest <see cref="MaxLength"/> values are kept (the global average still covers
/// all), so memory stays bounded over long runs; Detectron2 reads at most the last 1000 (the ETA's median).
/// </summary>
public sealed class HistoryBuffer
{
    /// <summary>Kept values by default: well above the longest window Detectron2's writers read (1000).</summary>
    public const int DefaultMaxLength = 100_000;

    // A ring: the kept values are _ring[(_head + i) % capacity] for i in [0, Count).
    // Its length grows up to MaxLength, which it equals once Count reaches MaxLength.
    private (double Value, long Iteration)[] _ring;
    private int _head;
    private long _count;
    private double _globalAverage;

    public HistoryBuffer(int maxLength = DefaultMaxLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLength);
        MaxLength = maxLength;
        _ring = new (double, long)[Math.Min(16, maxLength)];
    }

    public int MaxLength { get; }

    /// <summary>Number of values kept.</summary>
    public int Count { get; private set; }

    public void Update(double value, long iteration)
    {
        if (Count == MaxLength)
        {
            _ring[_head] = (value, iteration);
            _head = (_head + 1) % _ring.Length;
        }
        else
        {
            if (Count == _ring.Length)
            {
                var grown = new (double, long)[Math.Min(_ring.Length * 2, MaxLength)];
                for (var i = 0; i < Count; i++)
                    grown[i] = At(i);
                _ring = grown;
                _head = 0;
            }
            _ring[(_head + Count) % _ring.Length] = (value, iteration);
            Count++;
        }
        _count++;
        _globalAverage += (value - _globalAverage) / _count;
    }

    /// <exception cref="InvalidOperationException">nothing was added yet</exception>
    public double Latest() => Count > 0 ? At(Count - 1).Value : throw new InvalidOperationException("The history is empty.");

    /// <summary>numpy's median of the latest <paramref name="windowSize"/> values (mean of the two middle ones for an even count).</summary>
    public double Median(int windowSize)
    {
        var window = Window(windowSize);
        Array.Sort(window);
        var middle = window.Length / 2;
        return window.Length % 2 == 1 ? window[middle] : (window[middle - 1] + window[middle]) / 2;
    }

    /// <summary>The mean of the latest <paramref name="windowSize"/> values.</summary>
    public double Average(int windowSize) => Window(windowSize).Average();

    /// <summary>The mean of every value ever added, including those no longer kept.</summary>
    public double GlobalAverage() => _globalAverage;

    /// <summary>The kept (value, iteration) pairs, oldest first.</summary>
    public IReadOnlyList<(double Value, long Iteration)> Values() => Enumerable.Range(0, Count).Select(At).ToArray();

    /// <summary>The <paramref name="index"/>-th kept pair, oldest first.</summary>
    public (double Value, long Iteration) At(int index) => _ring[(_head + index) % _ring.Length];

    private double[] Window(int windowSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSize);
        if (Count == 0)
            throw new InvalidOperationException("The history is empty.");
        var length = Math.Min(windowSize, Count);
        var window = new double[length];
        for (var i = 0; i < length; i++)
            window[i] = At(Count - length + i).Value;
        return window;
    }
}
