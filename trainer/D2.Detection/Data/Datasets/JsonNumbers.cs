using System.Text.Json;

namespace D2.Detection.Data.Datasets;

/// <summary>
/// Coordinates as COCO writes them (<c>239.97</c>, <c>-3</c>, <c>0.5</c>) read without the general parser, which costs
/// most of a 450 MB file's load. The fast path takes at most 15 significant digits and no exponent, so the digits are
/// an exact integer below 2^53 and the divisor an exact power of ten: one IEEE division then gives the correctly rounded
/// double, the same bits the general parser returns (Clinger's fast path). Anything else goes to the reader's own parser.
/// </summary>
internal static class JsonNumbers
{
    static readonly double[] PowersOfTen = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

    /// <summary>As <see cref="Utf8JsonReader.TryGetDouble"/> on the current number token.</summary>
    public static bool TryGetDouble(ref Utf8JsonReader reader, out double value) =>
        TryParseShortDecimal(reader.ValueSpan, out value) || reader.TryGetDouble(out value);

    /// <summary>The fast path alone, on the text of a valid JSON number.</summary>
    /// <returns>false when the number needs the general parser (an exponent, or more than 15 digits).</returns>
    internal static bool TryParseShortDecimal(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        var i = 0;
        var negative = text.Length > 0 && text[0] == (byte)'-';
        if (negative)
            i++;
        long digits = 0;
        var count = 0;
        var fraction = -1;
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (c == (byte)'.')
            {
                fraction = 0;
                continue;
            }
            var digit = c - (byte)'0';
            if ((uint)digit > 9 || ++count > 15)
                return false;
            digits = digits * 10 + digit;
            if (fraction >= 0)
                fraction++;
        }
        if (count == 0)
            return false;
        var magnitude = fraction > 0 ? digits / PowersOfTen[fraction] : digits;
        value = negative ? -magnitude : magnitude;
        return true;
    }
}
