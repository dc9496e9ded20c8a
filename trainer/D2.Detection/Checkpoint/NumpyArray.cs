using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Checkpoint;

/// <summary>
/// A numpy array as a pickle describes it: dtype code (numpy's <c>'f4'</c>, <c>'i8'</c>, ...), byte order, shape, memory
/// order and raw bytes. Only plain numeric dtypes are accepted; object, string and record arrays are refused.
/// </summary>
public sealed class NumpyArray
{
    private static readonly Dictionary<string, (ScalarType Type, int Size)> Dtypes = new(StringComparer.Ordinal)
    {
        ["f2"] = (ScalarType.Float16, 2), ["f4"] = (ScalarType.Float32, 4), ["f8"] = (ScalarType.Float64, 8),
        ["i1"] = (ScalarType.Int8, 1), ["i2"] = (ScalarType.Int16, 2), ["i4"] = (ScalarType.Int32, 4), ["i8"] = (ScalarType.Int64, 8),
        ["u1"] = (ScalarType.Byte, 1), ["b1"] = (ScalarType.Bool, 1),
    };

    internal NumpyArray(string dtype, bool bigEndian, long[] shape, bool fortranOrder, byte[] data)
    {
        if (!Dtypes.TryGetValue(dtype, out var info))
            throw new NotSupportedException($"numpy dtype '{dtype}' is not supported (supported: {string.Join(", ", Dtypes.Keys)}).");
        long count;
        try
        {
            count = checked(shape.Aggregate(1L, (n, d) => d >= 0 ? n * d : throw new NotSupportedException($"negative dimension {d}.")));
        }
        catch (OverflowException e)
        {
            throw new NotSupportedException($"shape ({string.Join(", ", shape)}) is too large.", e);
        }
        if (count * info.Size != data.Length)
            throw new NotSupportedException($"array data holds {data.Length} bytes, but dtype '{dtype}' and shape ({string.Join(", ", shape)}) need {count * info.Size}.");
        DType = dtype;
        ScalarType = info.Type;
        Shape = shape;
        FortranOrder = fortranOrder;
        Data = bigEndian ? SwapBytes(data, info.Size) : data;
    }

    /// <summary>numpy's dtype code without byte order, e.g. "f4".</summary>
    public string DType { get; }
    public ScalarType ScalarType { get; }
    public IReadOnlyList<long> Shape { get; }
    /// <summary>True when <see cref="Data"/> is in column-major (Fortran) order.</summary>
    public bool FortranOrder { get; }
    /// <summary>Little-endian element bytes in <see cref="FortranOrder"/> order.</summary>
    internal byte[] Data { get; }

    /// <summary>A CPU tensor with the same dtype, shape and values, C-contiguous (what <c>torch.from_numpy</c> plus a copy gives).</summary>
    public Tensor ToTensor()
    {
        RequireLittleEndianHost();
        using var scope = NewDisposeScope();
        var shape = Shape.ToArray();
        // Fortran order is C order of the reversed shape; reversing the axes back gives the array's own shape.
        var storageShape = FortranOrder ? shape.Reverse().ToArray() : shape;
        var tensor = empty(storageShape, ScalarType, CPU);
        using (var stream = new MemoryStream(Data, writable: false))
            tensor.ReadBytesFromStream(stream, 1 << 20);
        if (FortranOrder && shape.Length > 1)
            tensor = tensor.permute(Enumerable.Range(0, shape.Length).Reverse().Select(i => (long)i).ToArray()).contiguous();
        return tensor.MoveToOuterDisposeScope();
    }

    private static byte[] SwapBytes(byte[] data, int size)
    {
        if (size == 1)
            return data;
        var swapped = new byte[data.Length];
        for (var i = 0; i < data.Length; i += size)
            for (var j = 0; j < size; j++)
                swapped[i + j] = data[i + size - 1 - j];
        return swapped;
    }

    private static void RequireLittleEndianHost()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("numpy array decoding here assumes a little-endian host.");
    }
}
