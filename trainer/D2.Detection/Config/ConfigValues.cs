using System.Collections;

namespace D2.Detection.Config;

/// <summary>
/// The value model of a config leaf and yacs' typing rules. A leaf is <c>null</c> (None), <see cref="bool"/>,
/// <see cref="long"/> (int), <see cref="double"/> (float), <see cref="string"/> (str) or <see cref="CfgSequence"/>
/// (list or tuple).
/// </summary>
internal static class ConfigValues
{
    /// <summary>The Python type name used in messages: int, float, bool, str, NoneType, list, tuple.</summary>
    public static string TypeName(object? value) => value switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        CfgSequence seq => seq.IsTuple ? "tuple" : "list",
        CfgNode => "CfgNode",
        YamlMapping => "dict",
        UnsupportedLiteral unsupported => unsupported.TypeName,
        _ => value.GetType().Name,
    };

    public static bool IsLeaf(object? value) => value is null or bool or long or double or string or CfgSequence;

    /// <summary>Strict equality: the same Python type and the same value (1 and 1.0 differ).</summary>
    public static bool ValueEquals(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (null, _) or (_, null) => false,
        (double x, double y) => x.Equals(y),
        _ => a.GetType() == b.GetType() && a.Equals(b),
    };

    /// <summary>Turns a .NET value given to <see cref="CfgNode.Set"/> into a leaf (int to long, arrays to lists).</summary>
    public static object? FromClr(object? value, string fullKey) => value switch
    {
        null or bool or long or double or string or CfgSequence => value,
        int i => (long)i,
        short s => (long)s,
        byte b => (long)b,
        uint u => (long)u,
        float f => (double)f,
        decimal m => (double)m,
        IEnumerable sequence => new CfgSequence(sequence.Cast<object?>().Select(item => FromClr(item, fullKey)), isTuple: false),
        _ => throw new ConfigException(
            $"{fullKey}: a {value.GetType().Name} cannot be stored in a config (use int, float, bool, string, None or a list of those)")
        {
            Key = fullKey,
        },
    };

    /// <summary>
    /// yacs' <c>_check_and_coerce_cfg_value_type</c>: the new value must have the type of the current one;
    /// the only coercions are list &lt;-&gt; tuple (to the current kind) and None to or from anything.
    /// </summary>
    /// <param name="where">where the value came from, for the message ("in opts", "at file.yaml:3")</param>
    public static object? CheckAndCoerce(object? replacement, object? current, string fullKey, string where)
    {
        if (replacement is UnsupportedLiteral unsupported)
        {
            throw Mismatch(fullKey, current, replacement, where, $"{unsupported.Text} is a Python {unsupported.TypeName}, which no config key can hold.");
        }

        if (replacement is null || current is null)
        {
            return replacement;
        }

        if (replacement.GetType() == current.GetType())
        {
            return replacement is CfgSequence sequence ? sequence.WithKind(((CfgSequence)current).IsTuple) : replacement;
        }

        throw Mismatch(fullKey, current, replacement, where, Hint(current, replacement));
    }

    private static ConfigException Mismatch(string fullKey, object? current, object? replacement, string where, string? hint)
    {
        var message = $"Type mismatch for config key {fullKey} ({where}): the key holds {PythonRepr.Format(current)} of type {TypeName(current)} "
            + $"but the new value {PythonRepr.Format(replacement)} has type {TypeName(replacement)}.";
        return new ConfigException(hint is null ? message : message + " " + hint) { Key = fullKey };
    }

    private static string? Hint(object current, object replacement) => (current, replacement) switch
    {
        (double, long l) => $"Write {l}.0 (an int is not accepted for a float key, as in Detectron2).",
        (long, double) => "Write an integer without a decimal point.",
        (bool, _) => "Write True or False (YAML also accepts true/false).",
        (CfgSequence sequence, string text) when sequence.Count == 0 || sequence[0] is string => SequenceHint(sequence, [text]),
        (CfgSequence sequence, _) => SequenceHint(sequence, sequence),
        (string, long or double or bool or CfgSequence) =>
            $"The text was read as a Python literal; to keep it a string, quote it inside: \"'{PythonRepr.Format(replacement)}'\".",
        _ => null,
    };

    /// <summary>"Write a tuple like ('balloon_train',)", in the key's own kind, quoted for a shell.</summary>
    private static string SequenceHint(CfgSequence current, IEnumerable<object?> items)
    {
        var example = PythonRepr.Format(new CfgSequence(items, current.IsTuple));
        return $"Write a {(current.IsTuple ? "tuple" : "list")} like {example} (quote it on a command line: \"{example}\").";
    }
}
