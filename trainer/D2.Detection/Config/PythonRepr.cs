using System.Globalization;
using System.Text;

namespace D2.Detection.Config;

/// <summary>
/// Formats config values as Python's <c>repr</c> does, so messages and dumps read like Detectron2's:
/// <c>0.001</c>, <c>1e-05</c>, <c>True</c>, <c>None</c>, <c>'res4'</c>, <c>(800,)</c>.
/// </summary>
public static class PythonRepr
{
    public static string Format(object? value) => value switch
    {
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => Float(d),
        string s => String(s),
        CfgSequence seq => Sequence(seq),
        CfgNode node => node.Path.Length == 0 ? "<config>" : $"<group {node.Path}>",
        UnsupportedLiteral literal => literal.Text,
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>
    /// Python's <c>repr(float)</c>: the shortest digits that round-trip, fixed notation for decimal
    /// exponents in [-4, 16), scientific (<c>1e-05</c>, <c>1e+16</c>) outside.
    /// </summary>
    public static string Float(double value)
    {
        if (double.IsNaN(value))
        {
            return "nan";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "inf" : "-inf";
        }

        var (negative, digits, pointPosition) = ShortestDigits(value);
        var sign = negative ? "-" : string.Empty;
        if (digits.Length == 0)
        {
            return sign + "0.0";
        }

        // pointPosition p means value = 0.DIGITS x 10^p; CPython switches to exponent form when p <= -4 or p > 16.
        if (pointPosition <= -4 || pointPosition > 16)
        {
            var mantissa = digits.Length == 1 ? digits : digits[..1] + "." + digits[1..];
            var exponent = pointPosition - 1;
            var exponentText = Math.Abs(exponent).ToString("00", CultureInfo.InvariantCulture);
            return $"{sign}{mantissa}e{(exponent < 0 ? '-' : '+')}{exponentText}";
        }

        if (pointPosition <= 0)
        {
            return sign + "0." + new string('0', -pointPosition) + digits;
        }

        if (pointPosition >= digits.Length)
        {
            return sign + digits + new string('0', pointPosition - digits.Length) + ".0";
        }

        return sign + digits[..pointPosition] + "." + digits[pointPosition..];
    }

    /// <summary>Python's <c>repr(str)</c>: single quotes unless the text holds only single quotes.</summary>
    public static string String(string text)
    {
        var quote = text.Contains('\'') && !text.Contains('"') ? '"' : '\'';
        var builder = new StringBuilder(text.Length + 2).Append(quote);
        foreach (var ch in text)
        {
            switch (ch)
            {
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                default:
                    if (ch == quote)
                    {
                        builder.Append('\\').Append(ch);
                    }
                    else if (ch < 0x20 || ch == 0x7f)
                    {
                        builder.Append(CultureInfo.InvariantCulture, $"\\x{(int)ch:x2}");
                    }
                    else
                    {
                        builder.Append(ch);
                    }

                    break;
            }
        }

        return builder.Append(quote).ToString();
    }

    private static string Sequence(CfgSequence sequence)
    {
        var inner = string.Join(", ", sequence.Select(Format));
        if (!sequence.IsTuple)
        {
            return "[" + inner + "]";
        }

        return sequence.Count == 1 ? "(" + inner + ",)" : "(" + inner + ")";
    }

    /// <summary>Sign, significant digits (no leading/trailing zeros) and decimal point position.</summary>
    private static (bool Negative, string Digits, int PointPosition) ShortestDigits(double value)
    {
        // .NET's "R" gives the shortest round-tripping digits, like CPython's repr; only the layout differs.
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        var negative = text.StartsWith('-');
        if (negative)
        {
            text = text[1..];
        }

        var exponent = 0;
        var e = text.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exponent = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }

        var dot = text.IndexOf('.');
        var integerPart = dot >= 0 ? text[..dot] : text;
        var fraction = dot >= 0 ? text[(dot + 1)..] : string.Empty;
        var digits = integerPart + fraction;
        var pointPosition = integerPart.Length + exponent;
        var leadingZeros = digits.Length - digits.TrimStart('0').Length;
        digits = digits.TrimStart('0');
        pointPosition -= leadingZeros;
        digits = digits.TrimEnd('0');
        return (negative, digits, pointPosition);
    }
}
