using System.Text;

namespace D2.SageMaker.Contract;

/// <summary>
/// The trainer's <c>opts</c> hyperparameter ("SOLVER.MAX_ITER 500 INPUT.MIN_SIZE_TRAIN (640, 672)") as Detectron2's
/// KEY VALUE list: whitespace separates tokens except inside quotes or brackets, so tuple and list values may keep
/// their spaces; quotes around a whole token are removed. One parser for the trainer and the client that checks a job
/// before creating it.
/// </summary>
public static class TrainerOpts
{
    /// <exception cref="FormatException">unbalanced quotes or brackets, or an odd number of tokens</exception>
    public static IReadOnlyList<string> Split(string opts)
    {
        var tokens = new List<string>();
        var current = new StringBuilder();
        var depth = 0;
        char? quote = null;
        var quotedWhole = false;

        void Flush()
        {
            if (current.Length == 0 && !quotedWhole)
                return;
            tokens.Add(current.ToString());
            current.Clear();
            quotedWhole = false;
        }

        foreach (var c in opts)
        {
            if (quote is { } q)
            {
                if (c == q)
                    quote = null;
                else
                    current.Append(c);
                if (depth > 0 && c == q)
                    current.Append(c);
                continue;
            }
            switch (c)
            {
                case '"' or '\'':
                    quote = c;
                    if (depth > 0)
                        current.Append(c); // quotes inside a tuple belong to the YAML value
                    else
                        quotedWhole = true;
                    break;
                case '(' or '[' or '{':
                    depth++;
                    current.Append(c);
                    break;
                case ')' or ']' or '}':
                    if (--depth < 0)
                        throw new FormatException($"hyperparameter 'opts': unbalanced '{c}' in \"{opts}\".");
                    current.Append(c);
                    break;
                default:
                    if (char.IsWhiteSpace(c) && depth == 0)
                        Flush();
                    else
                        current.Append(c);
                    break;
            }
        }
        if (quote is not null || depth != 0)
            throw new FormatException($"hyperparameter 'opts': unbalanced quotes or brackets in \"{opts}\".");
        Flush();
        if (tokens.Count % 2 != 0)
            throw new FormatException($"hyperparameter 'opts' must be KEY VALUE pairs, but it has {tokens.Count} items: \"{opts}\".");
        return tokens;
    }

    /// <summary>The value of <paramref name="key"/> in the opts (the last one wins, as in Detectron2's merge), or null.</summary>
    /// <exception cref="FormatException">the opts cannot be split</exception>
    public static string? Find(string opts, string key)
    {
        ArgumentNullException.ThrowIfNull(opts);
        var tokens = Split(opts);
        string? value = null;
        for (var i = 0; i + 1 < tokens.Count; i += 2)
        {
            if (tokens[i] == key)
                value = tokens[i + 1];
        }
        return value;
    }
}
