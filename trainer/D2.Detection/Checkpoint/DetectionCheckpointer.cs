using D2.Detection.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Checkpoint;

/// <summary>
/// Saves and loads model weights under Detectron2 parameter names, with Detectron2's <c>DetectionCheckpointer</c>
/// semantics: loading is non-strict, shape-mismatched tensors are skipped (how COCO weights are fine-tuned to another
/// NUM_CLASSES), missing and unexpected keys are reported, Caffe2 names are converted and matched when the file needs it.
/// </summary>
public static class DetectionCheckpointer
{
    /// <summary>Writes the model's state dict (parameters and persistent buffers) to a <c>.safetensors</c> file, atomically.</summary>
    /// <param name="metadata">strings kept in the file header (e.g. config name, class names)</param>
    public static void Save(nn.Module model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"Model weights are saved as .safetensors; '{path}' has another extension.", nameof(path));
        SafeTensors.Save(path, model.state_dict(), metadata);
    }

    /// <summary>Loads weights into <paramref name="model"/> in place, on whatever device and dtype it has.</summary>
    /// <param name="path">.safetensors, .pkl (Detectron2 or Caffe2 model zoo), .pth or .pt</param>
    /// <returns>what was loaded, skipped, missing and unexpected; its ToString is Detectron2's log</returns>
    /// <exception cref="CheckpointFormatException">the file cannot be read</exception>
    public static CheckpointLoadReport Load(nn.Module model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        var data = CheckpointReader.Read(path);
        return LoadStateDict(model, path, data.Model, data.MatchingHeuristics, caffe2Conversion: data.Author == "Caffe2", data.Notes);
    }

    /// <summary>
    /// Loads an in-memory state dict as <see cref="Load"/> does (Detectron2's <c>_load_model</c>).
    /// </summary>
    /// <param name="source">names the weights in the report</param>
    /// <param name="matchingHeuristics">match by "."-suffix (<see cref="StateDictAligner"/>) instead of exact names</param>
    /// <param name="caffe2Conversion">rename Caffe2 blobs first (<see cref="Caffe2Names"/>); only with heuristics</param>
    public static CheckpointLoadReport LoadStateDict(nn.Module model, string source, IEnumerable<KeyValuePair<string, Tensor>> checkpoint,
        bool matchingHeuristics = false, bool caffe2Conversion = false, IEnumerable<string>? notes = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        var modelState = model.state_dict();
        var allNotes = notes?.ToList() ?? [];
        var skipped = new List<ShapeMismatch>();
        var entries = checkpoint.ToList();
        if (matchingHeuristics)
        {
            var alignment = StateDictAligner.Align(
                modelState.ToDictionary(p => p.Key, p => p.Value.shape, StringComparer.Ordinal),
                entries.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
                caffe2Conversion);
            entries = alignment.StateDict;
            skipped.AddRange(alignment.Skipped);
            allNotes.AddRange(alignment.Notes);
        }
        entries = StripPrefixIfPresent(entries, "module.");

        // fvcore's _load_model: drop shape mismatches first, then a non-strict load_state_dict.
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        foreach (var (key, value) in entries)
        {
            if (!modelState.TryGetValue(key, out var target))
            {
                unexpected.Add(key);
                continue;
            }
            if (!value.shape.SequenceEqual(target.shape))
            {
                skipped.Add(new ShapeMismatch(key, value.shape, target.shape));
                continue;
            }
            weights[key] = value;
        }
        var filled = AddFrozenBatchNormStatistics(model, weights);
        if (filled.Count > 0)
            allNotes.Add($"FrozenBatchNorm2d statistics absent from the checkpoint set to running_mean 0, running_var 1: {filled.Count} buffers.");

        var loaded = new List<string>();
        using (no_grad())
        {
            foreach (var (key, target) in modelState)
                if (weights.TryGetValue(key, out var value))
                {
                    // copy_ converts dtype (float64 numpy arrays into float32 parameters) and device.
                    target.copy_(value);
                    if (!filled.Contains(key))
                        loaded.Add(key);
                }
        }
        // Shape-skipped keys count as missing too, as in fvcore (they were dropped before load_state_dict).
        var missing = modelState.Keys.Where(k => !weights.ContainsKey(k)).ToList();

        // Detectron2 ignores pixel_mean/pixel_std (set from the config) and stale cell_anchors buffers of old checkpoints.
        var topLevelBuffers = model.named_buffers(recurse: false).Select(b => b.name).ToHashSet(StringComparer.Ordinal);
        missing.RemoveAll(k => k is "pixel_mean" or "pixel_std" && topLevelBuffers.Contains(k));
        unexpected.RemoveAll(k => k.Contains("anchor_generator.cell_anchors", StringComparison.Ordinal));
        missing = FilterReusedMissingKeys(modelState, missing);
        return new CheckpointLoadReport(source, loaded, skipped, missing, unexpected, allNotes);
    }

    /// <summary>
    /// Detectron2's FrozenBatchNorm2d fills running_mean (0) and running_var (1) that a checkpoint lacks (Caffe2
    /// backbones hold only the folded scale and shift), so they are neither missing nor stale. Detectron2 does so
    /// whenever the state dict carries no version metadata, which is always the case after its name matching.
    /// </summary>
    /// <returns>the keys filled in</returns>
    private static HashSet<string> AddFrozenBatchNormStatistics(nn.Module model, Dictionary<string, Tensor> weights)
    {
        var filled = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, module) in model.named_modules().Prepend(("", model)))
        {
            if (module is not FrozenBatchNorm2d frozen)
                continue;
            var prefix = name.Length > 0 ? name + "." : "";
            if (weights.TryAdd(prefix + "running_mean", zeros(frozen.NumFeatures)))
                filled.Add(prefix + "running_mean");
            if (weights.TryAdd(prefix + "running_var", ones(frozen.NumFeatures)))
                filled.Add(prefix + "running_var");
        }
        return filled;
    }

    /// <summary>fvcore's <c>_strip_prefix_if_present</c>: weights saved from a DataParallel wrapper lose "module.".</summary>
    private static List<KeyValuePair<string, Tensor>> StripPrefixIfPresent(List<KeyValuePair<string, Tensor>> entries, string prefix) =>
        entries.Count > 0 && entries.All(p => p.Key.Length == 0 || p.Key.StartsWith(prefix, StringComparison.Ordinal))
            ? entries.Select(p => new KeyValuePair<string, Tensor>(p.Key.Length == 0 ? p.Key : p.Key[prefix.Length..], p.Value)).ToList()
            : entries;

    /// <summary>fvcore's <c>_filter_reused_missing_keys</c>: a tensor shared under two names is not missing if one name loaded.</summary>
    private static List<string> FilterReusedMissingKeys(Dictionary<string, Tensor> modelState, List<string> missing)
    {
        var missingSet = missing.ToHashSet(StringComparer.Ordinal);
        foreach (var aliases in modelState.GroupBy(p => p.Value.Handle).Select(g => g.Select(p => p.Key).ToList()).Where(g => g.Count > 1))
            if (aliases.Any(missingSet.Contains) && !aliases.All(missingSet.Contains))
                missingSet.ExceptWith(aliases);
        return missing.Where(missingSet.Contains).ToList();
    }
}
