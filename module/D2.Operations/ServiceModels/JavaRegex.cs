using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;

namespace D2.Operations.ServiceModels;

/// <summary>
/// Translates the Java regular expressions of AWS models into .NET ones and matches them the way AWS validates
/// members: the whole value must match (Java <c>Matcher.matches()</c>).
/// </summary>
internal static class JavaRegex
{
    private static readonly ConcurrentDictionary<string, Regex> Cache = new(StringComparer.Ordinal);

    // Java's \s is ASCII whitespace only; .NET's would also accept Unicode spaces.
    private const string JavaSpace = @" \t\n\x0B\f\r";

    // POSIX classes Java supports and .NET does not, as class contents (US-ASCII, as in Java without UNICODE_CHARACTER_CLASS).
    private static readonly Dictionary<string, string> PosixClasses = new(StringComparer.Ordinal)
    {
        ["Lower"] = "a-z",
        ["Upper"] = "A-Z",
        ["ASCII"] = @"\x00-\x7F",
        ["Alpha"] = "a-zA-Z",
        ["Digit"] = "0-9",
        ["Alnum"] = "a-zA-Z0-9",
        ["Punct"] = @"!-/:-@\[-`{-~",
        ["Graph"] = @"\x21-\x7E",
        ["Print"] = @"\x20-\x7E",
        ["Blank"] = @" \t",
        ["Cntrl"] = @"\x00-\x1F\x7F",
        ["XDigit"] = "0-9a-fA-F",
        ["Space"] = JavaSpace,
    };

    /// <summary>True when the whole of <paramref name="value"/> matches the Java pattern.</summary>
    public static bool FullMatch(string javaPattern, string value) => Get(javaPattern).IsMatch(value);

    /// <summary>The compiled, anchored .NET regex for a Java pattern.</summary>
    public static Regex Get(string javaPattern) =>
        Cache.GetOrAdd(javaPattern, p => new Regex(
            @"\A(?:" + Translate(p) + @")\z",
            RegexOptions.CultureInvariant,
            TimeSpan.FromSeconds(2)));

    /// <summary>Rewrites the Java-only constructs of <paramref name="java"/> into .NET syntax (unanchored).</summary>
    public static string Translate(string java)
    {
        var sb = new StringBuilder(java.Length + 16);
        var classDepth = 0;
        for (var i = 0; i < java.Length; i++)
        {
            var c = java[i];
            if (c == '\\' && i + 1 < java.Length)
            {
                var next = java[i + 1];
                var inClass = classDepth > 0;
                switch (next)
                {
                    case 'p' or 'P' when i + 2 < java.Length && java[i + 2] == '{':
                    {
                        var close = java.IndexOf('}', i + 3);
                        var name = close < 0 ? "" : java[(i + 3)..close];
                        if (close > 0 && PosixClasses.TryGetValue(name, out var set))
                        {
                            sb.Append(ClassOf(set, negate: next == 'P', inClass));
                            i = close;
                            continue;
                        }

                        break;
                    }
                    case 'd':
                        sb.Append(ClassOf("0-9", false, inClass));
                        i++;
                        continue;
                    case 'w':
                        sb.Append(ClassOf("a-zA-Z0-9_", false, inClass));
                        i++;
                        continue;
                    case 's':
                        sb.Append(ClassOf(JavaSpace, false, inClass));
                        i++;
                        continue;
                    case 'D' or 'W' or 'S' when !inClass:
                        sb.Append(ClassOf(next switch { 'D' => "0-9", 'W' => "a-zA-Z0-9_", _ => JavaSpace }, true, false));
                        i++;
                        continue;
                    case 'Q':
                    {
                        var end = java.IndexOf(@"\E", i + 2, StringComparison.Ordinal);
                        var literal = end < 0 ? java[(i + 2)..] : java[(i + 2)..end];
                        sb.Append(Regex.Escape(literal));
                        i = end < 0 ? java.Length : end + 1;
                        continue;
                    }
                }

                // Every other escape means the same in both dialects.
                sb.Append(c).Append(next);
                i++;
                continue;
            }

            if (c == '[')
            {
                classDepth++;
            }
            else if (c == ']' && classDepth > 0)
            {
                classDepth--;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static string ClassOf(string set, bool negate, bool inClass)
    {
        if (!inClass)
        {
            return (negate ? "[^" : "[") + set + "]";
        }

        // .NET cannot union a negated set into an enclosing class; no AWS model uses one, so fail loudly if one appears.
        return negate ? throw new NotSupportedException("A negated POSIX class inside a character class has no .NET equivalent.") : set;
    }
}
