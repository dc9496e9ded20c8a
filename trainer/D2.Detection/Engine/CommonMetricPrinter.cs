using System.Diagnostics;
using System.Text;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's CommonMetricPrinter: one console line per write with the ETA, the iteration, every loss (median of
/// the last 20 iterations, 4 significant digits), the iteration time (global average and last), the data time
/// (20-iteration average and last), the lr (5 significant digits) and the peak GPU memory:
/// <code> eta: 0:02:18  iter: 19  total_loss: 2.078  loss_cls: 0.7295 ...    time: 0.4826  last_time: 0.4583  data_time: 0.0250  last_data_time: 0.0033   lr: 1.6068e-05  max_mem: 2745M</code>
/// It also stores "eta_seconds" (median of the last 1000 iteration times x remaining iterations).
/// </summary>
public sealed class CommonMetricPrinter : IEventWriter
{
    private readonly long? _maxIter;
    private readonly TextWriter _output;
    private readonly int _windowSize;
    private readonly Func<double?>? _maxMemoryMiB;
    private (long Iteration, TimeSpan Time)? _lastWrite;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <param name="maxIter">SOLVER.MAX_ITER, for the ETA (none without it)</param>
    /// <param name="output">receives the lines (e.g. the console, or a log file)</param>
    /// <param name="maxMemoryMiB">peak accelerator memory in MiB, or null when there is none to report (CPU)</param>
    public CommonMetricPrinter(long? maxIter, TextWriter output, int windowSize = EventStorage.DefaultWindowSize, Func<double?>? maxMemoryMiB = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSize);
        _maxIter = maxIter;
        _output = output ?? throw new ArgumentNullException(nameof(output));
        _windowSize = windowSize;
        _maxMemoryMiB = maxMemoryMiB;
    }

    public void Write(EventStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var line = FormatLine(storage);
        if (line is not null)
        {
            _output.WriteLine(line);
            _output.Flush();
        }
    }

    /// <summary>The line for the storage's current iteration, or null after training (iteration == MAX_ITER), as Detectron2 prints nothing then.</summary>
    public string? FormatLine(EventStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var iteration = storage.Iter;
        if (iteration == _maxIter)
            return null;
        double? averageDataTime = null, lastDataTime = null, averageTime = null, lastTime = null;
        if (storage.TryGetHistory("data_time", out var dataTime))
        {
            averageDataTime = dataTime.Average(storage.CountSamples("data_time", _windowSize));
            lastDataTime = dataTime.Latest();
        }
        if (storage.TryGetHistory("time", out var time))
        {
            averageTime = time.GlobalAverage();
            lastTime = time.Latest();
        }
        var lr = storage.TryGetHistory("lr", out var lrHistory) ? PythonFormat.General(lrHistory.Latest(), 5) : "N/A";
        var eta = Eta(storage);
        var memory = _maxMemoryMiB?.Invoke() is { } mib ? $"max_mem: {PythonFormat.Fixed(mib, 0)}M" : "";

        string Smoothed(string name, HistoryBuffer history) =>
            $"{name}: {PythonFormat.General(history.Median(storage.CountSamples(name, _windowSize)), 4)}";
        var losses = storage.Histories().Where(h => h.Key.Contains("loss", StringComparison.Ordinal)).Select(h => Smoothed(h.Key, h.Value));
        var metrics = storage.Histories().Where(h => h.Key.Contains("[metric]", StringComparison.Ordinal)).Select(h => Smoothed(h.Key, h.Value));

        var line = new StringBuilder(" ");
        if (eta is not null)
            line.Append("eta: ").Append(eta).Append("  ");
        line.Append("iter: ").Append(iteration).Append("  ");
        line.Append(string.Join("  ", losses)).Append("  ");
        line.Append(string.Join("  ", metrics)).Append("  ");
        if (averageTime is { } avg)
            line.Append("time: ").Append(PythonFormat.Fixed(avg, 4)).Append("  ");
        if (lastTime is { } last)
            line.Append("last_time: ").Append(PythonFormat.Fixed(last, 4)).Append("  ");
        if (averageDataTime is { } avgData)
            line.Append("data_time: ").Append(PythonFormat.Fixed(avgData, 4)).Append("  ");
        if (lastDataTime is { } lastData)
            line.Append("last_data_time: ").Append(PythonFormat.Fixed(lastData, 4)).Append("  ");
        line.Append(" lr: ").Append(lr).Append("  ").Append(memory);
        return line.ToString();
    }

    public void Dispose()
    {
    }

    /// <summary>Detectron2's <c>_get_eta</c>: from the iteration-time history when there is one, else from the time between writes.</summary>
    private string? Eta(EventStorage storage)
    {
        if (_maxIter is not { } maxIter)
            return null;
        var iteration = storage.Iter;
        if (storage.TryGetHistory("time", out var time))
        {
            var seconds = time.Median(1000) * (maxIter - iteration - 1);
            storage.PutScalar("eta_seconds", seconds, smoothingHint: false);
            return PythonFormat.TimeDelta((long)seconds);
        }
        string? estimate = null;
        var now = _clock.Elapsed;
        if (_lastWrite is { } previous && iteration != previous.Iteration)
        {
            var perIteration = (now - previous.Time).TotalSeconds / (iteration - previous.Iteration);
            estimate = PythonFormat.TimeDelta((long)(perIteration * (maxIter - iteration - 1)));
        }
        _lastWrite = (iteration, now);
        return estimate;
    }
}
