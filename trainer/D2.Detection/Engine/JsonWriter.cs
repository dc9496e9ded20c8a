using System.Globalization;
using System.Text;
using D2.Detection.Config;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's JSONWriter (metrics.json): on each write, one line per iteration that has scalars not written yet, a
/// JSON object with the keys sorted and "iteration" among them, formatted as Python's <c>json.dumps(sort_keys=True)</c>:
/// <c>{"data_time": 0.0021, "iteration": 19, "loss_cls": 0.38, "lr": 1.6e-05, ...}</c>. Smoothed scalars are the median
/// over the last 20 iterations, others (lr, eta_seconds, evaluation results) the latest value. The file is appended
/// to (a resumed run continues it) and synced after each write; a line cut short by a crash is dropped on open.
/// </summary>
public sealed class JsonWriter : IEventWriter
{
    private readonly FileStream _file;
    private readonly int _windowSize;
    private long _lastWrite = -1;

    public JsonWriter(string path, int windowSize = EventStorage.DefaultWindowSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(windowSize);
        Path = path;
        _windowSize = windowSize;
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
            Directory.CreateDirectory(directory);
        _file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        DropIncompleteLastLine(_file);
    }

    public string Path { get; }

    public void Write(EventStorage storage)
    {
        ArgumentNullException.ThrowIfNull(storage);
        var byIteration = new OrderedDictionary<long, SortedDictionary<string, double>>();
        foreach (var (name, (value, iteration)) in storage.LatestWithSmoothingHint(_windowSize))
        {
            if (iteration <= _lastWrite)
                continue;
            if (!byIteration.TryGetValue(iteration, out var scalars))
                byIteration.Add(iteration, scalars = new SortedDictionary<string, double>(StringComparer.Ordinal));
            scalars[name] = value;
        }
        if (byIteration.Count == 0)
            return;
        _lastWrite = byIteration.Keys.Max();
        var text = new StringBuilder();
        foreach (var (iteration, scalars) in byIteration)
            text.Append(FormatLine(iteration, scalars)).Append('\n');
        _file.Write(Encoding.UTF8.GetBytes(text.ToString()));
        _file.Flush(flushToDisk: true);
    }

    /// <summary>One metrics.json line (without the newline).</summary>
    public static string FormatLine(long iteration, IEnumerable<KeyValuePair<string, double>> scalars)
    {
        var fields = scalars.Select(p => (Key: p.Key, Text: JsonNumber(p.Value)))
            .Append(("iteration", iteration.ToString(CultureInfo.InvariantCulture)))
            .OrderBy(p => p.Item1, StringComparer.Ordinal);
        return "{" + string.Join(", ", fields.Select(f => $"{JsonString(f.Item1)}: {f.Item2}")) + "}";
    }

    public void Dispose() => _file.Dispose();

    /// <summary>Python json's float: repr, with NaN and Infinity as Python writes them.</summary>
    private static string JsonNumber(double value) =>
        double.IsNaN(value) ? "NaN" : double.IsPositiveInfinity(value) ? "Infinity" : double.IsNegativeInfinity(value) ? "-Infinity" : PythonRepr.Float(value);

    /// <summary>Python json's string with ensure_ascii: anything outside printable ASCII as \uXXXX.</summary>
    private static string JsonString(string text)
    {
        var builder = new StringBuilder("\"");
        foreach (var c in text)
        {
            builder.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                >= ' ' and <= '~' => c.ToString(),
                _ => $"\\u{(int)c:x4}",
            });
        }
        return builder.Append('"').ToString();
    }

    /// <summary>Positions the stream at the end of the last complete line, cutting what a crash left half-written.</summary>
    private static void DropIncompleteLastLine(FileStream file)
    {
        var length = file.Length;
        var end = length;
        var buffer = new byte[1];
        while (end > 0)
        {
            file.Position = end - 1;
            file.ReadExactly(buffer);
            if (buffer[0] == (byte)'\n')
                break;
            end--;
        }
        if (end != length)
            file.SetLength(end);
        file.Position = end;
    }
}
