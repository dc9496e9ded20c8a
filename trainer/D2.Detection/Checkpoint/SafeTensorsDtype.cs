using static TorchSharp.torch;

namespace D2.Detection.Checkpoint;

/// <summary>The safetensors dtype names this port reads and writes, with the reference implementation's ordering.</summary>
internal static class SafeTensorsDtype
{
    // Rank = position in the reference's Dtype enum (increasing alignment); the writer orders tensors by descending rank.
    private static readonly (string Name, ScalarType Type, int Rank)[] Known =
    [
        ("BOOL", ScalarType.Bool, 0),
        ("U8", ScalarType.Byte, 4),
        ("I8", ScalarType.Int8, 5),
        ("I16", ScalarType.Int16, 11),
        ("F16", ScalarType.Float16, 13),
        ("BF16", ScalarType.BFloat16, 14),
        ("I32", ScalarType.Int32, 15),
        ("F32", ScalarType.Float32, 17),
        ("F64", ScalarType.Float64, 19),
        ("I64", ScalarType.Int64, 20),
    ];

    public static string SupportedNames => string.Join(", ", Known.Select(k => k.Name));

    public static bool TryFromName(string name, out ScalarType type)
    {
        foreach (var known in Known)
            if (known.Name == name)
            {
                type = known.Type;
                return true;
            }
        type = default;
        return false;
    }

    public static bool TryToName(ScalarType type, out string name, out int rank)
    {
        foreach (var known in Known)
            if (known.Type == type)
            {
                (name, rank) = (known.Name, known.Rank);
                return true;
            }
        (name, rank) = ("", -1);
        return false;
    }

    public static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Bool or ScalarType.Byte or ScalarType.Int8 => 1,
        ScalarType.Int16 or ScalarType.Float16 or ScalarType.BFloat16 => 2,
        ScalarType.Int32 or ScalarType.Float32 => 4,
        ScalarType.Int64 or ScalarType.Float64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Not a safetensors dtype of this port."),
    };
}
