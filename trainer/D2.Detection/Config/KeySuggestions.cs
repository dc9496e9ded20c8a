namespace D2.Detection.Config;

/// <summary>"Did you mean" candidates for a key that does not exist: near spellings and the same name elsewhere.</summary>
internal static class KeySuggestions
{
    private const int MaxSuggestions = 4;

    /// <param name="root">the node the lookup started from</param>
    /// <param name="parent">the deepest node that exists on the key's path</param>
    /// <param name="missing">the part of the key that is not in <paramref name="parent"/></param>
    public static IReadOnlyList<string> For(CfgNode root, CfgNode parent, string missing)
    {
        var nearby = parent.Keys
            .Where(key => string.Equals(key, missing, StringComparison.OrdinalIgnoreCase) || Distance(key, missing) <= 2)
            .Select(key => Join(parent.Path, key));

        // MODEL.NUM_CLASSES -> MODEL.ROI_HEADS.NUM_CLASSES: the same last name anywhere in the tree.
        var sameName = AllKeys(root).Where(key => key.EndsWith("." + missing, StringComparison.OrdinalIgnoreCase));
        return nearby.Concat(sameName).Distinct(StringComparer.Ordinal).Take(MaxSuggestions).ToList();
    }

    private static IEnumerable<string> AllKeys(CfgNode node)
    {
        foreach (var key in node.Keys)
        {
            var fullKey = Join(node.Path, key);
            yield return fullKey;
            if (node.GetLocal(key) is CfgNode child)
            {
                foreach (var nested in AllKeys(child))
                {
                    yield return nested;
                }
            }
        }
    }

    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToUpperInvariant(a[i - 1]) == char.ToUpperInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            previous = current;
        }

        return previous[b.Length];
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;
}
