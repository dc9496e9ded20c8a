using static TorchSharp.torch;

namespace D2.Detection.Structures;

/// <summary>Turns the selections Detectron2 structures accept (bool mask or index vector) into int64 indices.</summary>
internal static class Selection
{
    /// <summary>(K,) int64 indices on the selection's device; a bool mask must have exactly <paramref name="length"/> entries.</summary>
    public static Tensor ToIndices(Tensor selection, long length, string what)
    {
        ArgumentNullException.ThrowIfNull(selection);
        if (selection.dim() != 1)
            throw new ArgumentException(
                $"Selecting from {what} needs a 1-D bool mask or index vector; got shape [{string.Join(", ", selection.shape)}].",
                nameof(selection));
        if (selection.dtype == ScalarType.Bool)
        {
            if (selection.shape[0] != length)
                throw new ArgumentException(
                    $"A bool mask selecting from {what} must have {length} entries; got {selection.shape[0]}.", nameof(selection));
            using var scope = NewDisposeScope();
            return selection.nonzero().squeeze(1).MoveToOuterDisposeScope();
        }
        if (selection.dtype is ScalarType.Int64 or ScalarType.Int32 or ScalarType.Int16 or ScalarType.Int8 or ScalarType.Byte)
            return selection.to(ScalarType.Int64);
        throw new ArgumentException(
            $"Selecting from {what} needs a bool mask or an integer index vector; got dtype {selection.dtype}.", nameof(selection));
    }

    /// <summary>The indices as a CPU array, for list-backed structures.</summary>
    public static long[] ToIndexArray(Tensor selection, long length, string what)
    {
        using var scope = NewDisposeScope();
        var result = Layers.TensorMemory.ToArray<long>(ToIndices(selection, length, what));
        foreach (var i in result)
        {
            if (i < 0 || i >= length)
                throw new ArgumentOutOfRangeException(nameof(selection), i, $"Index {i} is out of range for {what} of length {length}.");
        }
        return result;
    }

    public static string Shape(Tensor t) => "[" + string.Join(", ", t.shape) + "]";
}
