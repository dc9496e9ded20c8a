using System.Numerics;

namespace D2.Detection.Engine;

/// <summary>CRC-32C (Castagnoli), as TFRecord files use it, and TFRecord's "masked" form of it.</summary>
public static class Crc32C
{
    /// <summary>The CRC-32C of <paramref name="data"/> (initial value and final xor 0xFFFFFFFF); hardware-accelerated where available.</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
            crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>TFRecord's masked CRC: rotate right by 15 bits and add 0xA282EAD8 (so CRCs of CRCs stay well distributed).</summary>
    public static uint Mask(uint crc) => ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
}
