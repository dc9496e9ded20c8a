using System.Text.Json;

namespace D2.Detection.Data.Datasets;

/// <summary>
/// A JSON file fed to <see cref="Utf8JsonReader"/> through one reusable buffer, so a 450 MB file never sits in memory
/// whole. The caller reads a unit (a top-level property, one array element), and when the reader runs out of bytes
/// mid-unit it <see cref="Commit"/>s the position before that unit and calls <see cref="Fill"/>: the unread tail moves
/// to the front, the buffer doubles when the unit is larger than all of it, and the unit is read again from its start.
/// The reader's state (depth, line and position for error messages) travels in <see cref="JsonReaderState"/>.
/// </summary>
internal sealed class JsonFileWindow : IDisposable
{
    readonly Stream _stream;
    byte[] _buffer;
    long _bufferOffset;
    int _start;
    int _end;
    JsonReaderState _state;

    /// <param name="stream">the file, read from its current position to its end</param>
    /// <param name="bufferSize">the first buffer's size; it grows when one unit does not fit</param>
    /// <param name="options">the reader options (depth limit, comments) the whole file is read with</param>
    public JsonFileWindow(Stream stream, int bufferSize, JsonReaderOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bufferSize, 1);
        _stream = stream;
        _buffer = new byte[bufferSize];
        _bufferOffset = stream.Position;
        _state = new JsonReaderState(options);
    }

    /// <summary>True once the file's last byte is in the buffer.</summary>
    public bool IsFinal { get; private set; }

    /// <summary>The size the buffer has grown to (tests check that a unit larger than the first buffer was read).</summary>
    public int BufferSize => _buffer.Length;

    /// <summary>A reader over the unread bytes, continuing from the last committed state.</summary>
    public Utf8JsonReader Reader() => new(_buffer.AsSpan(_start, _end - _start), IsFinal, _state);

    /// <summary>Marks <paramref name="consumed"/> bytes of the current <see cref="Reader"/> as done, with the reader's state there.</summary>
    public void Commit(long consumed, JsonReaderState state)
    {
        _start += checked((int)consumed);
        _state = state;
    }

    /// <summary>The unread bytes, for a caller that tokenizes the separators between values itself.</summary>
    public ReadOnlySpan<byte> Pending => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Marks <paramref name="count"/> bytes of <see cref="Pending"/> as done (the reader state is not used).</summary>
    public void Consume(int count) => _start += count;

    /// <summary>The file offset of the byte <paramref name="consumed"/> bytes after the committed position.</summary>
    public long OffsetOf(long consumed) => _bufferOffset + _start + consumed;

    /// <summary>Continues at <paramref name="offset"/> with <paramref name="state"/>, dropping what is buffered; call <see cref="Fill"/> next.</summary>
    public void Seek(long offset, JsonReaderState state)
    {
        _stream.Position = offset;
        _bufferOffset = offset;
        _start = _end = 0;
        IsFinal = false;
        _state = state;
    }

    /// <summary>Reads more of the file after the committed position.</summary>
    /// <returns>false when the whole file was already in the buffer (nothing more will come).</returns>
    public bool Fill()
    {
        if (IsFinal)
            return false;
        var pending = _end - _start;
        if (pending == _buffer.Length)
            Array.Resize(ref _buffer, checked(_buffer.Length * 2));
        else if (_start > 0)
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
        _bufferOffset += _start;
        _start = 0;
        _end = pending;
        while (_end < _buffer.Length)
        {
            var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                IsFinal = true;
                break;
            }
            _end += read;
        }
        return true;
    }

    public void Dispose() => _stream.Dispose();
}
