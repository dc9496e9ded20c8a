using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace D2.Detection.Config;

/// <summary>
/// A value that Python's <c>literal_eval</c> accepts but no config key can hold (dict, set, bytes,
/// complex, an int beyond 64 bits); the type check turns it into an error that names the key.
/// </summary>
internal sealed record UnsupportedLiteral(string TypeName, string Text);

/// <summary>
/// Python's <c>ast.literal_eval</c> for the values a config holds. yacs decodes every string value (from
/// YAML or from opts) this way and keeps the raw string when evaluation fails, so <c>20000</c> is an
/// int, <c>(1000,)</c> a tuple, <c>True</c> a bool, while <c>./output</c> or <c>res4</c> stay strings.
/// </summary>
internal static partial class PythonLiteral
{
    private const int MaxDepth = 64;

    /// <summary>False where <c>literal_eval</c> raises (the caller keeps the string, as yacs does).</summary>
    public static bool TryParse(string text, out object? value)
    {
        var parser = new Parser(text);
        try
        {
            value = parser.ParseAll();
            return true;
        }
        catch (FormatException)
        {
            value = null;
            return false;
        }
    }

    // Python's tokenizer rules for number literals (PEP 515 underscores included).
    [GeneratedRegex(@"\G(?:(?:[0-9](?:_?[0-9])*\.(?:[0-9](?:_?[0-9])*)?|\.[0-9](?:_?[0-9])*)(?:[eE][-+]?[0-9](?:_?[0-9])*)?|[0-9](?:_?[0-9])*[eE][-+]?[0-9](?:_?[0-9])*)")]
    private static partial Regex FloatToken();

    [GeneratedRegex(@"\G(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?0)*|[1-9](?:_?[0-9])*)")]
    private static partial Regex IntToken();

    private sealed partial class Parser(string text)
    {
        private int _position;
        private int _depth;

        public object? ParseAll()
        {
            // literal_eval strips leading spaces and tabs; an indented line after that is an IndentationError.
            SkipTrivia(insideBrackets: false);
            while (Peek() is '\n' or '\r')
            {
                _position++;
                if (Peek() is ' ' or '\t')
                {
                    throw Fail();
                }
            }

            var value = ParseExpressionList(closing: null);
            SkipTrivia(insideBrackets: true);
            if (_position != text.Length)
            {
                throw Fail();
            }

            return value;
        }

        /// <summary>Comma-separated items; a comma outside brackets (or inside parentheses) makes a tuple.</summary>
        private object? ParseExpressionList(char? closing)
        {
            var items = new List<object?>();
            var sawComma = false;
            var inside = closing is not null;
            while (true)
            {
                SkipTrivia(inside);
                if (AtEndOfList(closing))
                {
                    if (items.Count == 0 && closing != ')')
                    {
                        throw Fail();
                    }

                    break;
                }

                items.Add(ParseItem());
                SkipTrivia(inside);
                if (Peek() != ',')
                {
                    break;
                }

                _position++;
                sawComma = true;
            }

            if (closing == ')' && items.Count == 0)
            {
                return new CfgSequence([], isTuple: true);
            }

            return sawComma ? MakeSequence(items, isTuple: true) : items[0];
        }

        private bool AtEndOfList(char? closing)
        {
            var next = Peek();
            return closing is null ? next is '\0' or '\n' or '\r' : next == closing;
        }

        private object? ParseItem()
        {
            SkipTrivia(_depth > 0);
            var sign = Peek();
            if (sign is '-' or '+')
            {
                // literal_eval allows one sign on a number constant only: -1, -(1), - 1.0; not --1 or -True.
                _position++;
                var operand = ParsePrimary();
                return operand switch
                {
                    long l when sign == '-' => l == long.MinValue ? throw Fail() : -l,
                    double d when sign == '-' => -d,
                    long or double => operand,
                    UnsupportedLiteral { TypeName: "complex" or "int" } => operand,
                    _ => throw Fail(),
                };
            }

            return ParsePrimary();
        }

        private object? ParsePrimary()
        {
            SkipTrivia(_depth > 0);
            var ch = Peek();
            switch (ch)
            {
                case '(':
                case '[':
                case '{':
                    return ParseBracketed(ch);
                case '\'':
                case '"':
                    return ParseStrings();
            }

            if (char.IsAsciiDigit(ch) || (ch == '.' && char.IsAsciiDigit(PeekAt(1))))
            {
                return ParseNumber();
            }

            if (char.IsAsciiLetter(ch) || ch == '_')
            {
                var start = _position;
                while (char.IsAsciiLetterOrDigit(Peek()) || Peek() == '_')
                {
                    _position++;
                }

                if (Peek() is '\'' or '"')
                {
                    _position = start;
                    return ParseStrings();
                }

                return text[start.._position] switch
                {
                    "True" => true,
                    "False" => false,
                    "None" => null,
                    _ => throw Fail(),
                };
            }

            throw Fail();
        }

        private object? ParseBracketed(char open)
        {
            if (++_depth > MaxDepth)
            {
                throw Fail();
            }

            _position++;
            object? result;
            switch (open)
            {
                case '(':
                    result = ParseExpressionList(')');
                    break;
                case '[':
                    result = ParseListItems(']');
                    break;
                default:
                    result = ParseDictOrSet();
                    break;
            }

            SkipTrivia(insideBrackets: true);
            if (Peek() != (open switch { '(' => ')', '[' => ']', _ => '}' }))
            {
                throw Fail();
            }

            _position++;
            _depth--;
            return result;
        }

        private object ParseListItems(char closing)
        {
            var items = new List<object?>();
            while (true)
            {
                SkipTrivia(insideBrackets: true);
                if (Peek() == closing)
                {
                    break;
                }

                items.Add(ParseItem());
                SkipTrivia(insideBrackets: true);
                if (Peek() != ',')
                {
                    break;
                }

                _position++;
            }

            return MakeSequence(items, isTuple: false);
        }

        /// <summary>Dicts and sets parse (so they are reported by type, as Python would) but no key holds them.</summary>
        private UnsupportedLiteral ParseDictOrSet()
        {
            var start = _position - 1;
            var isDict = true;
            var first = true;
            while (true)
            {
                SkipTrivia(insideBrackets: true);
                if (Peek() == '}')
                {
                    break;
                }

                ParseItem();
                SkipTrivia(insideBrackets: true);
                if (Peek() == ':')
                {
                    if (!first && !isDict)
                    {
                        throw Fail();
                    }

                    _position++;
                    ParseItem();
                    SkipTrivia(insideBrackets: true);
                }
                else if (first || !isDict)
                {
                    isDict = false;
                }
                else
                {
                    throw Fail();
                }

                first = false;
                if (Peek() != ',')
                {
                    break;
                }

                _position++;
            }

            return new UnsupportedLiteral(isDict ? "dict" : "set", text[start..Math.Min(_position + 1, text.Length)]);
        }

        private object ParseNumber()
        {
            var start = _position;
            var floatMatch = FloatToken().Match(text, _position);
            var intMatch = IntToken().Match(text, _position);
            var isFloat = floatMatch.Success && (!intMatch.Success || floatMatch.Length > intMatch.Length);
            var match = isFloat ? floatMatch : intMatch;
            if (!match.Success)
            {
                throw Fail();
            }

            _position += match.Length;
            var hasRadixPrefix = match.Length > 1 && match.Value[0] == '0' && char.IsAsciiLetter(match.Value[1]);
            var imaginary = Peek() is 'j' or 'J' && !hasRadixPrefix;
            if (imaginary)
            {
                _position++;
            }

            // "1abc", "0777": Python's tokenizer rejects a number glued to a name or more digits.
            if (char.IsAsciiLetterOrDigit(Peek()) || Peek() == '_')
            {
                throw Fail();
            }

            var token = match.Value.Replace("_", string.Empty, StringComparison.Ordinal);
            if (imaginary)
            {
                return new UnsupportedLiteral("complex", text[start.._position]);
            }

            return isFloat ? ParseFloat(token) : ParseInt(token, text[start.._position]);
        }

        private static double ParseFloat(string token)
        {
            var normalized = token.StartsWith('.') ? "0" + token : token;
            normalized = normalized.Replace(".e", ".0e", StringComparison.OrdinalIgnoreCase);
            if (normalized.EndsWith('.'))
            {
                normalized += "0";
            }

            return double.Parse(normalized, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        private static object ParseInt(string token, string original)
        {
            BigInteger value;
            if (token.Length > 1 && token[0] == '0' && char.IsAsciiLetter(token[1]))
            {
                var radix = char.ToLowerInvariant(token[1]) switch { 'x' => 16, 'o' => 8, _ => 2 };
                value = BigInteger.Zero;
                foreach (var digit in token[2..])
                {
                    value = (value * radix) + Convert.ToInt32(digit.ToString(), 16);
                }
            }
            else
            {
                value = BigInteger.Parse(token, CultureInfo.InvariantCulture);
            }

            return value >= long.MinValue && value <= long.MaxValue
                ? (long)value
                : new UnsupportedLiteral("int", original);
        }

        /// <summary>Spaces, comments and line continuations; newlines only inside brackets.</summary>
        private void SkipTrivia(bool insideBrackets)
        {
            while (_position < text.Length)
            {
                var ch = text[_position];
                if (ch is ' ' or '\t' or '\f' || (insideBrackets && ch is '\n' or '\r'))
                {
                    _position++;
                }
                else if (ch == '\\' && PeekAt(1) == '\n')
                {
                    _position += 2;
                }
                else if (ch == '#')
                {
                    while (_position < text.Length && text[_position] != '\n')
                    {
                        _position++;
                    }
                }
                else
                {
                    break;
                }
            }
        }

        private static object MakeSequence(List<object?> items, bool isTuple)
        {
            if (items.FirstOrDefault(item => item is UnsupportedLiteral) is UnsupportedLiteral inner)
            {
                return new UnsupportedLiteral((isTuple ? "tuple" : "list") + " containing a " + inner.TypeName, inner.Text);
            }

            return new CfgSequence(items, isTuple);
        }

        private char Peek() => _position < text.Length ? text[_position] : '\0';

        private char PeekAt(int offset) => _position + offset < text.Length ? text[_position + offset] : '\0';

        private static FormatException Fail() => new("not a Python literal");
    }
}
