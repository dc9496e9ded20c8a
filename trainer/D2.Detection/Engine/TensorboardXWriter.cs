using System.Globalization;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's TensorboardXWriter, scalars only: each write appends every scalar put since the last write (smoothed
/// as in metrics.json) to a TensorBoard event file <c>events.out.tfevents.&lt;time&gt;.&lt;host&gt;.&lt;pid&gt;.&lt;n&gt;</c> in
/// the log folder, named as torch's SummaryWriter names it. The file is created on the first write and flushed after each.
/// </summary>
public sealed class TensorboardXWriter : IEventWriter
{
    private static int _fileCounter;
    private readonly int _windowSize;
    private readonly Func<DateTimeOffset> _clock;
    private TfRecordWriter? _records;
    private long _lastWrite = -1;

    /// <param name="logDirectory">TensorBoard's log folder (Detectron2: OUTPUT_DIR)</param>
    /// <param name="clock">wall time of the events (tests fix it)</param>
    public TensorboardXWriter(string logDirectory, int windowSize = EventStorage.DefaultWindowSize, Func<DateTimeOffset>? clock = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDirectory);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSize);
        LogDirectory = logDirectory;
        _windowSize = windowSize;
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
    }

    public string LogDirectory { get; }

    /// <summary>The event file, once the first write created it.</summary>
    public string? FilePath { get; private set; }

    public void Write(EventStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var newLastWrite = _lastWrite;
        foreach (var (name, (value, iteration)) in storage.LatestWithSmoothingHint(_windowSize))
        {
            if (iteration <= _lastWrite)
                continue;
            Records().WriteRecord(TensorboardEvent.Scalar(WallTime(), iteration, name, (float)value));
            newLastWrite = Math.Max(newLastWrite, iteration);
        }
        _lastWrite = newLastWrite;
        _records?.Flush();
    }

    public void Dispose() => _records?.Dispose();

    private TfRecordWriter Records()
    {
        if (_records is not null)
            return _records;
        Directory.CreateDirectory(LogDirectory);
        var now = _clock();
        var name = string.Create(CultureInfo.InvariantCulture,
            $"events.out.tfevents.{now.ToUnixTimeSeconds():D10}.{Environment.MachineName}.{Environment.ProcessId}.{Interlocked.Increment(ref _fileCounter) - 1}");
        FilePath = Path.Combine(LogDirectory, name);
        _records = new TfRecordWriter(new FileStream(FilePath, FileMode.CreateNew, FileAccess.Write, FileShare.Read));
        _records.WriteRecord(TensorboardEvent.FileVersion(WallTime()));
        return _records;
    }

    private double WallTime() => _clock().ToUnixTimeMilliseconds() / 1000.0;
}
