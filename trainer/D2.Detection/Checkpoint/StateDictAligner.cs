using static TorchSharp.torch;

namespace D2.Detection.Checkpoint;

/// <summary>
/// Detectron2's <c>align_and_update_state_dicts</c>: renames checkpoint keys onto model keys when the checkpoint was
/// saved from a less nested module (ImageNet backbones, other codebases). Each model key takes the longest checkpoint
/// key that equals it or is a "."-complete suffix of it (<c>stem.conv1.weight</c> -> <c>backbone.bottom_up.stem.conv1.weight</c>).
/// Used for Caffe2 <c>.pkl</c> files (after <see cref="Caffe2Names"/>) and for <c>.pth</c> files, as in Detectron2.
/// </summary>
public static class StateDictAligner
{
    /// <summary>Result of an alignment: the renamed checkpoint, suffix matches skipped for shape, log lines.</summary>
    internal sealed record Alignment(List<KeyValuePair<string, Tensor>> StateDict, List<ShapeMismatch> Skipped, List<string> Notes);

    /// <summary>
    /// For each model key, the checkpoint key it would load from, or null (the matching rule alone, on names).
    /// </summary>
    /// <exception cref="InvalidOperationException">a checkpoint key matches two model keys (Detectron2 raises too)</exception>
    public static IReadOnlyDictionary<string, string?> Match(IEnumerable<string> modelKeys, IEnumerable<string> checkpointKeys)
    {
        var model = modelKeys.Order(StringComparer.Ordinal).ToList();
        var checkpoint = checkpointKeys.Order(StringComparer.Ordinal).ToList();
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var key in model)
        {
            string? best = null;
            foreach (var candidate in checkpoint)
                // Only complete suffixes: roi_heads.mesh_head.whatever_conv1 must not match conv1.
                if ((key == candidate || (key.EndsWith(candidate, StringComparison.Ordinal) && key.Length > candidate.Length && key[key.Length - candidate.Length - 1] == '.'))
                    && (best is null || candidate.Length > best.Length))
                    best = candidate;
            result[key] = best;
        }
        return result;
    }

    /// <param name="modelShapes">model key -> shape</param>
    /// <param name="checkpoint">checkpoint key -> tensor (numpy arrays already converted)</param>
    /// <param name="caffe2Conversion">rename Caffe2 blobs first (<see cref="Caffe2Names"/>)</param>
    internal static Alignment Align(IReadOnlyDictionary<string, long[]> modelShapes, IReadOnlyDictionary<string, Tensor> checkpoint, bool caffe2Conversion)
    {
        var notes = new List<string>();
        IReadOnlyDictionary<string, Tensor> weights = checkpoint;
        Dictionary<string, string> originalNames;
        if (caffe2Conversion)
        {
            (var converted, originalNames, var conversionNotes) = Caffe2Names.Convert(checkpoint);
            weights = converted;
            notes.AddRange(conversionNotes);
        }
        else
        {
            originalNames = checkpoint.Keys.ToDictionary(k => k, k => k, StringComparer.Ordinal);
        }

        var matches = Match(modelShapes.Keys, weights.Keys);
        var matched = new Dictionary<string, string>(StringComparer.Ordinal); // checkpoint key -> model key
        var skipped = new List<ShapeMismatch>();
        var result = new List<KeyValuePair<string, Tensor>>();
        foreach (var (modelKey, checkpointKey) in matches)
        {
            if (checkpointKey is null)
                continue;
            var value = weights[checkpointKey];
            var modelShape = modelShapes[modelKey];
            if (!value.shape.SequenceEqual(modelShape))
            {
                // Under its own name the fvcore stage reports the skip; a suffix match is reported here, as Detectron2 logs it.
                if (checkpointKey != modelKey)
                    skipped.Add(new ShapeMismatch(modelKey, value.shape, modelShape, originalNames[checkpointKey]));
                continue;
            }
            if (matched.TryGetValue(checkpointKey, out var other))
                throw new InvalidOperationException(
                    $"Ambiguity found for {checkpointKey} in checkpoint! It matches at least two keys in the model ({modelKey} and {other}). Cannot match one checkpoint key to multiple keys in the model.");
            matched[checkpointKey] = modelKey;
            result.Add(new(modelKey, value));
        }
        if (matched.Count == 0)
        {
            notes.Add("No weights in checkpoint matched with model.");
            return new Alignment(weights.Select(p => new KeyValuePair<string, Tensor>(p.Key, p.Value)).ToList(), skipped, notes);
        }
        var prefix = LongestCommonPrefix(matched.Values.ToList());
        notes.Add($"Matched {matched.Count} checkpoint weights to submodule {(prefix.Length > 0 ? prefix[..^1] : "model")} by name (suffix) matching.");
        // Unmatched checkpoint keys stay under their (converted) names, so the load reports them as unexpected.
        foreach (var key in weights.Keys.Order(StringComparer.Ordinal))
            if (!matched.ContainsKey(key))
                result.Add(new(key, weights[key]));
        return new Alignment(result, skipped, notes);
    }

    /// <summary>
    /// Detectron2's <c>_longest_common_prefix</c>: the "."-parts that the smallest and largest split names share
    /// position by position, joined with a trailing "." (a log detail, reproduced with its quirks).
    /// </summary>
    private static string LongestCommonPrefix(List<string> names)
    {
        var split = names.Select(n => n.Split('.')).ToList();
        var comparer = Comparer<string[]>.Create(ComparePartLists);
        var (low, high) = (split.Min(comparer)!, split.Max(comparer)!);
        var common = low.Zip(high).Where(p => p.First == p.Second).Select(p => p.First).ToList();
        return common.Count > 0 ? string.Join(".", common) + "." : "";
    }

    private static int ComparePartLists(string[]? a, string[]? b)
    {
        for (var i = 0; i < Math.Min(a!.Length, b!.Length); i++)
        {
            var order = string.CompareOrdinal(a[i], b[i]);
            if (order != 0)
                return order;
        }
        return a.Length.CompareTo(b.Length);
    }
}
