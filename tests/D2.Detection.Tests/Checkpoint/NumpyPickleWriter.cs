using System.Buffers.Binary;
using System.Text;

namespace D2.Detection.Tests.Checkpoint;

/// <summary>A numpy array for the fixture writer: dtype code ('f4', 'i8', ...), shape, raw little-endian bytes in the given order.</summary>
internal sealed record NpArray(string DType, long[] Shape, byte[] Data, bool Fortran = false, bool Scalar = false)
{
    public static NpArray Of(float[] values, params long[] shape) => new("f4", shape, Bytes(values));
    public static NpArray Of(double[] values, params long[] shape) => new("f8", shape, Bytes(values));
    public static NpArray Of(long[] values, params long[] shape) => new("i8", shape, Bytes(values));
    public static NpArray Of(int[] values, params long[] shape) => new("i4", shape, Bytes(values));
    public static NpArray Of(byte[] values, params long[] shape) => new("u1", shape, values);
    public static NpArray ScalarOf(float value) => new("f4", [], Bytes([value]), Scalar: true);

    /// <summary>A (rows, cols) int64 array stored column-major, as <c>np.asfortranarray</c> pickles it.</summary>
    public static NpArray FortranOf(long[] rowMajor, long rows, long cols)
    {
        var columnMajor = new long[rowMajor.Length];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < cols; c++)
                columnMajor[c * rows + r] = rowMajor[r * cols + c];
        return new("i8", [rows, cols], Bytes(columnMajor), Fortran: true);
    }

    private static byte[] Bytes<T>(T[] values) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();
}

/// <summary>
/// Writes pickles byte for byte as CPython 3's pickle (protocol 2) writes dicts of numpy arrays with numpy 1.x:
/// <c>_reconstruct</c> + BUILD state tuples, dtypes rebuilt by <c>numpy.dtype</c> + state, and bytes spelled as
/// <c>_codecs.encode(latin1 text, 'latin1')</c> (empty bytes as <c>bytes()</c>). The memo mirrors CPython's identity
/// memo for what numpy shares (globals, dtype singletons, <c>b'b'</c>, the byte-order and 'latin1' strings).
/// Checked during development to equal <c>pickle.dumps(d, protocol=2)</c> of the same dict, byte for byte.
/// Dict values: string, long, bool, null, NpArray, or a nested dict given as a list of pairs.
/// </summary>
internal sealed class NumpyPickleWriter
{
    private readonly MemoryStream _out = new();
    private readonly Dictionary<string, int> _memo = new(StringComparer.Ordinal);
    private int _next;

    public static byte[] Dump(IReadOnlyList<KeyValuePair<string, object?>> dict)
    {
        var writer = new NumpyPickleWriter();
        writer._out.Write([0x80, 2]);
        writer.SaveDict(dict);
        writer._out.WriteByte((byte)'.');
        return writer._out.ToArray();
    }

    private void SaveDict(IReadOnlyList<KeyValuePair<string, object?>> dict)
    {
        Op('}');
        Memoize(null);
        if (dict.Count > 1)
            Op('(');
        foreach (var (key, value) in dict)
        {
            SaveString(key, shared: false);
            Save(value);
        }
        if (dict.Count > 0)
            Op(dict.Count > 1 ? 'u' : 's');
    }

    private void Save(object? value)
    {
        switch (value)
        {
            case null: Op('N'); break;
            case bool b: _out.WriteByte(b ? (byte)0x88 : (byte)0x89); break;
            case long l: SaveInt(l); break;
            case int i: SaveInt(i); break;
            case string s: SaveString(s, shared: false); break;
            case NpArray array: SaveArray(array); break;
            case IReadOnlyList<KeyValuePair<string, object?>> dict: SaveDict(dict); break;
            default: throw new ArgumentException($"fixture writer cannot pickle {value.GetType().Name}");
        }
    }

    private void SaveArray(NpArray array)
    {
        if (array.Scalar)
        {
            // numpy scalar: scalar(dtype, bytes)
            SaveGlobal("numpy.core.multiarray", "scalar");
            SaveDtype(array.DType);
            SaveBytes(array.Data);
            _out.WriteByte(0x86);
            Memoize(null);
            Op('R');
            Memoize(null);
            return;
        }
        SaveGlobal("numpy.core.multiarray", "_reconstruct");
        SaveGlobal("numpy", "ndarray");
        SaveInt(0);
        _out.WriteByte(0x85);
        Memoize(null);
        // numpy hands every array the same b'b' object, so CPython memoizes it once.
        if (!Recall("bytes:b"))
        {
            SaveBytes("b"u8.ToArray());
            _memo["bytes:b"] = _next - 1;
        }
        _out.WriteByte(0x87);
        Memoize(null);
        Op('R');
        Memoize(null);
        // state: (1, shape, dtype, is_fortran, data)
        Op('(');
        SaveInt(1);
        SaveTuple(array.Shape);
        SaveDtype(array.DType);
        _out.WriteByte(array.Fortran ? (byte)0x88 : (byte)0x89);
        SaveBytes(array.Data);
        Op('t');
        Memoize(null);
        Op('b');
    }

    private void SaveDtype(string code)
    {
        if (Recall("dtype:" + code))
            return;
        SaveGlobal("numpy", "dtype");
        SaveString(code, shared: false);
        _out.WriteByte(0x89);
        _out.WriteByte(0x88);
        _out.WriteByte(0x87);
        Memoize(null);
        Op('R');
        Memoize("dtype:" + code);
        Op('(');
        SaveInt(3);
        SaveString(code is "u1" or "i1" or "b1" ? "|" : "<", shared: true);
        Op('N'); Op('N'); Op('N');
        SaveInt(-1);
        SaveInt(-1);
        SaveInt(0);
        Op('t');
        Memoize(null);
        Op('b');
    }

    private void SaveBytes(byte[] data)
    {
        if (data.Length == 0)
        {
            SaveGlobal("__builtin__", "bytes");
            Op(')');
            Op('R');
            Memoize(null);
            return;
        }
        SaveGlobal("_codecs", "encode");
        SaveString(Encoding.Latin1.GetString(data), shared: false);
        SaveString("latin1", shared: true);
        _out.WriteByte(0x86);
        Memoize(null);
        Op('R');
        Memoize(null);
    }

    private void SaveTuple(long[] items)
    {
        if (items.Length == 0)
        {
            Op(')');
            return;
        }
        if (items.Length > 3)
            Op('(');
        foreach (var item in items)
            SaveInt(item);
        _out.WriteByte(items.Length switch { 1 => 0x85, 2 => 0x86, 3 => 0x87, _ => (byte)'t' });
        Memoize(null);
    }

    private void SaveGlobal(string module, string name)
    {
        if (Recall($"global:{module} {name}"))
            return;
        _out.Write(Encoding.ASCII.GetBytes($"c{module}\n{name}\n"));
        Memoize($"global:{module} {name}");
    }

    private void SaveString(string value, bool shared)
    {
        if (shared && Recall("str:" + value))
            return;
        var utf8 = Encoding.UTF8.GetBytes(value);
        Op('X');
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
        _out.Write(length);
        _out.Write(utf8);
        Memoize(shared ? "str:" + value : null);
    }

    private void SaveInt(long value)
    {
        Span<byte> bytes = stackalloc byte[4];
        if (value is >= 0 and <= 0xff)
        {
            Op('K');
            _out.WriteByte((byte)value);
        }
        else if (value is >= 0 and <= 0xffff)
        {
            Op('M');
            BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)value);
            _out.Write(bytes[..2]);
        }
        else
        {
            Op('J');
            BinaryPrimitives.WriteInt32LittleEndian(bytes, checked((int)value));
            _out.Write(bytes);
        }
    }

    private bool Recall(string key)
    {
        if (!_memo.TryGetValue(key, out var index))
            return false;
        WriteMemoIndex('h', 'j', index);
        return true;
    }

    private void Memoize(string? key)
    {
        var index = _next++;
        if (key is not null)
            _memo[key] = index;
        WriteMemoIndex('q', 'r', index);
    }

    private void WriteMemoIndex(char shortOpcode, char longOpcode, int index)
    {
        if (index < 256)
        {
            Op(shortOpcode);
            _out.WriteByte((byte)index);
            return;
        }
        Op(longOpcode);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, index);
        _out.Write(bytes);
    }

    private void Op(char opcode) => _out.WriteByte((byte)opcode);
}
