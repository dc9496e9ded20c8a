using System.Globalization;
using System.Text;

namespace D2.Detection.Config;

/// <summary>Python string literals: prefixes, quotes, escapes and implicit concatenation.</summary>
internal static partial class PythonLiteral
{
    private sealed partial class Parser
    {
        /// <summary>One or more adjacent string literals, concatenated as Python does.</summary>
        private object ParseStrings()
        {
            var builder = new StringBuilder();
            bool? isBytes = null;
            var start = _position;
            while (true)
            {
                var literalIsBytes = ParseOneString(builder);
                if (isBytes is not null && isBytes != literalIsBytes)
                {
                    throw Fail(); // mixing str and bytes is a SyntaxError
                }

                isBytes = literalIsBytes;
                var save = _position;
                SkipTrivia(_depth > 0);
                if (!StartsString())
                {
                    _position = save;
                    break;
                }
            }

            return isBytes == true ? new UnsupportedLiteral("bytes", text[start.._position]) : builder.ToString();
        }

        private bool StartsString()
        {
            var i = _position;
            while (i < text.Length && i - _position < 2 && char.IsAsciiLetter(text[i]))
            {
                i++;
            }

            return i < text.Length && text[i] is '\'' or '"';
        }

        private bool ParseOneString(StringBuilder builder)
        {
            var prefixStart = _position;
            while (char.IsAsciiLetter(Peek()))
            {
                _position++;
            }

            var prefix = text[prefixStart.._position].ToLowerInvariant();
            if (prefix is not ("" or "r" or "u" or "b" or "br" or "rb"))
            {
                throw Fail(); // f-strings are not literals; other prefixes are syntax errors
            }

            var raw = prefix.Contains('r');
            var isBytes = prefix.Contains('b');
            var quote = Peek();
            var triple = PeekAt(1) == quote && PeekAt(2) == quote;
            _position += triple ? 3 : 1;
            while (true)
            {
                if (_position >= text.Length)
                {
                    throw Fail();
                }

                var ch = text[_position];
                if (ch == quote && (!triple || (PeekAt(1) == quote && PeekAt(2) == quote)))
                {
                    _position += triple ? 3 : 1;
                    return isBytes;
                }

                if (ch is '\n' or '\r' && !triple)
                {
                    throw Fail();
                }

                _position++;
                if (ch != '\\')
                {
                    builder.Append(ch);
                    continue;
                }

                if (_position >= text.Length)
                {
                    throw Fail();
                }

                var escaped = text[_position++];
                if (raw)
                {
                    builder.Append('\\').Append(escaped);
                    continue;
                }

                AppendEscape(builder, escaped, isBytes);
            }
        }

        private void AppendEscape(StringBuilder builder, char escaped, bool isBytes)
        {
            switch (escaped)
            {
                case '\n': break;
                case '\\': builder.Append('\\'); break;
                case '\'': builder.Append('\''); break;
                case '"': builder.Append('"'); break;
                case 'a': builder.Append('\a'); break;
                case 'b': builder.Append('\b'); break;
                case 'f': builder.Append('\f'); break;
                case 'n': builder.Append('\n'); break;
                case 'r': builder.Append('\r'); break;
                case 't': builder.Append('\t'); break;
                case 'v': builder.Append('\v'); break;
                case 'x': builder.Append((char)ReadHex(2)); break;
                case 'u' when !isBytes: builder.Append((char)ReadHex(4)); break;
                case 'U' when !isBytes: builder.Append(char.ConvertFromUtf32(ReadHex(8))); break;
                case 'N' when !isBytes: throw Fail(); // named escapes: not needed for configs
                case >= '0' and <= '7':
                    var code = escaped - '0';
                    for (var i = 0; i < 2 && Peek() is >= '0' and <= '7'; i++)
                    {
                        code = (code * 8) + (text[_position++] - '0');
                    }

                    builder.Append((char)code);
                    break;
                default:
                    builder.Append('\\').Append(escaped); // Python keeps unknown escapes verbatim
                    break;
            }
        }

        private int ReadHex(int count)
        {
            if (_position + count > text.Length
                || !int.TryParse(text.AsSpan(_position, count), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var code)
                || code > 0x10FFFF)
            {
                throw Fail();
            }

            _position += count;
            return code;
        }
    }
}
