using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace D2.Detection.Config;

/// <summary>
/// Reads a config YAML as PyYAML's loader does (YAML 1.1 implicit types), so a file means here what it
/// means to Detectron2: <c>true/True/yes/on</c> are bools, <c>0.0001</c> a float, <c>1e-4</c> a string
/// (YAML 1.1 floats need a dot; yacs later turns such strings into numbers with <c>literal_eval</c>),
/// <c>010</c> the octal int 8, <c>~</c>/<c>null</c>/empty None, quoted scalars strings. Anchors and aliases
/// work; the <c>!!python/tuple</c> tag (PyYAML's unsafe form, which Detectron2 accepts) makes a tuple.
/// </summary>
internal static partial class YamlConfigReader
{
    private const string YamlTagPrefix = "tag:yaml.org,2002:";

    /// <summary>Parses one YAML document whose root is a mapping (an empty document is an empty mapping).</summary>
    /// <param name="source">the file name used in messages and locations</param>
    public static YamlMapping Read(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException e)
        {
            throw new ConfigException($"{source}:{e.Start.Line}: invalid YAML: {e.Message}", e) { File = source };
        }

        if (stream.Documents.Count == 0)
        {
            return new YamlMapping(source);
        }

        if (stream.Documents.Count > 1)
        {
            throw new ConfigException($"{source}: a config file must hold one YAML document, not {stream.Documents.Count}.") { File = source };
        }

        var root = stream.Documents[0].RootNode;
        if (root is YamlScalarNode { Style: ScalarStyle.Plain, Value: "" or "~" or "null" })
        {
            return new YamlMapping(source);
        }

        if (root is not YamlMappingNode mapping)
        {
            throw new ConfigException($"{Where(source, root)}: a config file must be a mapping of KEY: value.") { File = source };
        }

        return ReadMapping(mapping, source, keyPrefix: string.Empty);
    }

    private static YamlMapping ReadMapping(YamlMappingNode node, string source, string keyPrefix)
    {
        if (!node.Tag.IsEmpty && !node.Tag.IsNonSpecific && node.Tag.Value != YamlTagPrefix + "map")
        {
            throw UnsupportedTag(node, source, keyPrefix.TrimEnd('.'));
        }

        var result = new YamlMapping(Where(source, node));
        foreach (var (keyNode, valueNode) in node.Children)
        {
            var keyValue = keyNode is YamlScalarNode scalarKey ? ReadScalar(scalarKey, source, keyPrefix + "?") : null;
            if (keyValue is not string key)
            {
                throw new ConfigException($"{Where(source, keyNode)}: config keys must be strings, not {ConfigValues.TypeName(keyValue)} ({keyNode}).")
                {
                    File = source,
                };
            }

            var fullKey = keyPrefix + key;
            var value = valueNode is YamlMappingNode child
                ? ReadMapping(child, source, fullKey + ".")
                : ReadValue(valueNode, source, fullKey);
            result.Entries[key] = new YamlEntry(value, Where(source, valueNode));
        }

        return result;
    }

    private static object? ReadValue(YamlNode node, string source, string fullKey) => node switch
    {
        YamlScalarNode scalar => ReadScalar(scalar, source, fullKey),
        YamlSequenceNode sequence => ReadSequence(sequence, source, fullKey),
        _ => throw new ConfigException($"{Where(source, node)}: {fullKey}: a list may hold only numbers, strings, booleans, null and lists.")
        {
            Key = fullKey,
            File = source,
        },
    };

    private static CfgSequence ReadSequence(YamlSequenceNode node, string source, string fullKey)
    {
        var tag = node.Tag.IsEmpty || node.Tag.IsNonSpecific ? YamlTagPrefix + "seq" : node.Tag.Value;
        if (tag != YamlTagPrefix + "seq" && tag != YamlTagPrefix + "python/tuple")
        {
            throw UnsupportedTag(node, source, fullKey);
        }

        var items = node.Children.Select(child => ReadValue(child, source, fullKey));
        return new CfgSequence(items, isTuple: tag == YamlTagPrefix + "python/tuple");
    }

    private static object? ReadScalar(YamlScalarNode node, string source, string fullKey)
    {
        var text = node.Value ?? string.Empty;
        string tag;
        if (!node.Tag.IsEmpty && !node.Tag.IsNonSpecific)
        {
            tag = node.Tag.Value;
        }
        else if (node.Tag.IsNonSpecific || node.Style != ScalarStyle.Plain)
        {
            tag = YamlTagPrefix + "str"; // '!' and quoted or block scalars are never resolved implicitly
        }
        else
        {
            tag = ResolvePlain(text);
        }

        try
        {
            return tag switch
            {
                YamlTagPrefix + "str" => text,
                YamlTagPrefix + "null" => null,
                YamlTagPrefix + "bool" => ConstructBool(text),
                YamlTagPrefix + "int" => ConstructInt(text),
                YamlTagPrefix + "float" => ConstructFloat(text),
                YamlTagPrefix + "timestamp" => throw new FormatException("a YAML timestamp is not a valid config value; quote it to make it a string"),
                _ => throw UnsupportedTag(node, source, fullKey),
            };
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new ConfigException($"{Where(source, node)}: {fullKey}: cannot read '{text}' as {tag[YamlTagPrefix.Length..]}: {e.Message}")
            {
                Key = fullKey,
                File = source,
            };
        }
    }

    /// <summary>Whether <paramref name="text"/>, written unquoted, reads back as that string.</summary>
    public static bool PlainIsString(string text) => ResolvePlain(text) == YamlTagPrefix + "str";

    /// <summary>PyYAML's implicit resolvers (YAML 1.1) for plain scalars.</summary>
    private static string ResolvePlain(string text)
    {
        if (BoolPattern().IsMatch(text))
        {
            return YamlTagPrefix + "bool";
        }

        if (IntPattern().IsMatch(text))
        {
            return YamlTagPrefix + "int";
        }

        if (FloatPattern().IsMatch(text))
        {
            return YamlTagPrefix + "float";
        }

        if (NullPattern().IsMatch(text))
        {
            return YamlTagPrefix + "null";
        }

        return TimestampPattern().IsMatch(text) ? YamlTagPrefix + "timestamp" : YamlTagPrefix + "str";
    }

    private static bool ConstructBool(string text) => text.ToLowerInvariant() switch
    {
        "yes" or "true" or "on" => true,
        "no" or "false" or "off" => false,
        _ => throw new FormatException("not a YAML boolean"),
    };

    /// <summary>PyYAML's int constructor: underscores ignored, 0b/0x prefixes, a leading 0 means octal, a:b sexagesimal.</summary>
    private static long ConstructInt(string text)
    {
        var value = text.Replace("_", string.Empty, StringComparison.Ordinal);
        var sign = 1;
        if (value.Length > 0 && value[0] is '-' or '+')
        {
            sign = value[0] == '-' ? -1 : 1;
            value = value[1..];
        }

        BigInteger result;
        if (value == "0")
        {
            result = BigInteger.Zero;
        }
        else if (value.StartsWith("0b", StringComparison.Ordinal))
        {
            result = Accumulate(value[2..], 2);
        }
        else if (value.StartsWith("0x", StringComparison.Ordinal))
        {
            result = Accumulate(value[2..], 16);
        }
        else if (value.StartsWith('0'))
        {
            result = Accumulate(value[1..], 8);
        }
        else if (value.Contains(':'))
        {
            result = BigInteger.Zero;
            foreach (var part in value.Split(':'))
            {
                result = (result * 60) + BigInteger.Parse(part, CultureInfo.InvariantCulture);
            }
        }
        else
        {
            result = BigInteger.Parse(value, CultureInfo.InvariantCulture);
        }

        return (long)(sign * result);
    }

    private static BigInteger Accumulate(string digits, int radix)
    {
        var result = BigInteger.Zero;
        foreach (var digit in digits)
        {
            result = (result * radix) + Convert.ToInt32(digit.ToString(), 16);
        }

        return result;
    }

    private static double ConstructFloat(string text)
    {
        var value = text.Replace("_", string.Empty, StringComparison.Ordinal).ToLowerInvariant();
        var sign = 1.0;
        if (value.Length > 0 && value[0] is '-' or '+')
        {
            sign = value[0] == '-' ? -1.0 : 1.0;
            value = value[1..];
        }

        if (value == ".inf")
        {
            return sign * double.PositiveInfinity;
        }

        if (value == ".nan")
        {
            return double.NaN;
        }

        if (value.Contains(':'))
        {
            var result = 0.0;
            foreach (var part in value.Split(':'))
            {
                result = (result * 60) + double.Parse(part, NumberStyles.Float, CultureInfo.InvariantCulture);
            }

            return sign * result;
        }

        var normalized = value.StartsWith('.') ? "0" + value : value;
        normalized = normalized.Replace(".e", ".0e", StringComparison.Ordinal);
        if (normalized.EndsWith('.'))
        {
            normalized += "0";
        }

        return sign * double.Parse(normalized, NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    private static ConfigException UnsupportedTag(YamlNode node, string source, string fullKey) =>
        new($"{Where(source, node)}: {fullKey}: unsupported YAML tag {node.Tag} (a config holds numbers, strings, booleans, null, lists and !!python/tuple).")
        {
            Key = fullKey,
            File = source,
        };

    private static string Where(string source, YamlNode node) => $"{source}:{node.Start.Line}";

    [GeneratedRegex(@"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$")]
    private static partial Regex BoolPattern();

    [GeneratedRegex(@"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")]
    private static partial Regex FloatPattern();

    [GeneratedRegex(@"^(?:~|null|Null|NULL|)$")]
    private static partial Regex NullPattern();

    [GeneratedRegex(@"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$")]
    private static partial Regex TimestampPattern();
}
