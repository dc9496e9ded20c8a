using System.Globalization;
using System.Text;

namespace D2.Detection.Config;

/// <summary>
/// Writes a config as Detectron2's <c>cfg.dump()</c> does (PyYAML <c>safe_dump</c>): block style, keys
/// sorted, two-space indent, sequences not indented under their key, tuples as plain lists, floats as
/// Python prints them (<c>0.0001</c>, <c>1.0e-05</c>), strings quoted only where YAML would read them
/// as something else. Unlike PyYAML, long strings are never folded onto several lines.
/// </summary>
internal static class YamlConfigWriter
{
    public static string Write(CfgNode root)
    {
        var builder = new StringBuilder();
        if (!root.Keys.Any())
        {
            return "{}\n";
        }

        WriteMapping(builder, root, indent: 0);
        return builder.ToString();
    }

    private static void WriteMapping(StringBuilder builder, CfgNode node, int indent)
    {
        foreach (var key in node.Keys.Order(StringComparer.Ordinal))
        {
            var value = node.GetLocal(key);
            builder.Append(' ', indent).Append(Scalar(key)).Append(':');
            switch (value)
            {
                case CfgNode child when child.Keys.Any():
                    builder.Append('\n');
                    WriteMapping(builder, child, indent + 2);
                    break;
                case CfgNode:
                    builder.Append(" {}\n");
                    break;
                case CfgSequence { Count: > 0 } sequence:
                    builder.Append('\n');
                    WriteSequence(builder, sequence, indent, new string(' ', indent) + "- ");
                    break;
                default:
                    builder.Append(' ').Append(Scalar(value)).Append('\n');
                    break;
            }
        }
    }

    /// <summary>Items at <paramref name="indent"/>; the first one goes after <paramref name="firstPrefix"/> ("- - " for nesting).</summary>
    private static void WriteSequence(StringBuilder builder, CfgSequence sequence, int indent, string firstPrefix)
    {
        for (var i = 0; i < sequence.Count; i++)
        {
            var prefix = i == 0 ? firstPrefix : new string(' ', indent) + "- ";
            if (sequence[i] is CfgSequence { Count: > 0 } nested)
            {
                WriteSequence(builder, nested, indent + 2, prefix + "- ");
            }
            else
            {
                builder.Append(prefix).Append(Scalar(sequence[i])).Append('\n');
            }
        }
    }

    internal static string Scalar(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => Float(d),
        string s => String(s),
        CfgSequence { Count: 0 } => "[]",
        _ => throw new InvalidOperationException($"not a scalar: {value}"),
    };

    /// <summary>PyYAML's float: <c>repr</c>, lower case, ".0" added before an exponent that has no dot.</summary>
    private static string Float(double value)
    {
        if (double.IsNaN(value))
        {
            return ".nan";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? ".inf" : "-.inf";
        }

        var text = PythonRepr.Float(value);
        var e = text.IndexOf('e');
        return e >= 0 && !text.Contains('.') ? text[..e] + ".0" + text[e..] : text;
    }

    private static string String(string text)
    {
        if (text.Any(ch => ch is < ' ' or > '~'))
        {
            return DoubleQuoted(text);
        }

        return CanBePlain(text) ? text : "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    /// <summary>PyYAML's rules for a plain scalar in block context, plus "reads back as a string".</summary>
    private static bool CanBePlain(string text)
    {
        if (text.Length == 0 || text[0] == ' ' || text[^1] == ' '
            || text.StartsWith("---", StringComparison.Ordinal) || text.StartsWith("...", StringComparison.Ordinal))
        {
            return false;
        }

        var first = text[0];
        var followedBySpace = text.Length == 1 || text[1] == ' ';
        if ("#,[]{}&*!|>'\"%@`".Contains(first) || (first is '-' or '?' or ':' && followedBySpace))
        {
            return false;
        }

        for (var i = 1; i < text.Length; i++)
        {
            if ((text[i] == ':' && (i + 1 == text.Length || text[i + 1] == ' ')) || (text[i] == '#' && text[i - 1] == ' '))
            {
                return false;
            }
        }

        return text is not ("=" or "<<") && YamlConfigReader.PlainIsString(text);
    }

    private static string DoubleQuoted(string text)
    {
        var builder = new StringBuilder("\"");
        foreach (var ch in text)
        {
            builder.Append(ch switch
            {
                '\0' => "\\0",
                '\a' => "\\a",
                '\b' => "\\b",
                '\t' => "\\t",
                '\n' => "\\n",
                '\v' => "\\v",
                '\f' => "\\f",
                '\r' => "\\r",
                '\x1b' => "\\e",
                '"' => "\\\"",
                '\\' => "\\\\",
                '\x85' => "\\N",
                '\xa0' => "\\_",
                '\u2028' => "\\L",
                '\u2029' => "\\P",
                >= ' ' and <= '~' => ch.ToString(),
                <= '\xff' => string.Create(CultureInfo.InvariantCulture, $"\\x{(int)ch:X2}"),
                _ => string.Create(CultureInfo.InvariantCulture, $"\\u{(int)ch:X4}"),
            });
        }

        return builder.Append('"').ToString();
    }
}
