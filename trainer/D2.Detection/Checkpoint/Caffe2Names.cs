using System.Globalization;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace D2.Detection.Checkpoint;

/// <summary>
/// Detectron2's renaming of Caffe2 / Detectron1 blob names (ImageNet <c>R-50.pkl</c>, Detectron1 model zoo) to its own
/// parameter names (<c>c2_model_loading.convert_basic_c2_names</c> and <c>convert_c2_detectron_names</c>), rule by rule
/// in the same order, plus the class-layout fixes for Detectron1 heads (background first there, last in Detectron2).
/// </summary>
public static class Caffe2Names
{
    private static readonly (Regex Pattern, string Replacement)[] NormRules =
    [
        (new(@"\.b$"), ".bias"),
        (new(@"\.w$"), ".weight"),
        // Both BN and GN become "norm"; the unescaped dots and missing anchors are Detectron2's own.
        (new(@"bn\.s$"), "norm.weight"),
        (new(@"bn\.bias$"), "norm.bias"),
        (new(@"bn\.rm"), "norm.running_mean"),
        (new(@"bn\.running.mean$"), "norm.running_mean"),
        (new(@"bn\.riv$"), "norm.running_var"),
        (new(@"bn\.running.var$"), "norm.running_var"),
        (new(@"bn\.gamma$"), "norm.weight"),
        (new(@"bn\.beta$"), "norm.bias"),
        (new(@"gn\.s$"), "norm.weight"),
        (new(@"gn\.bias$"), "norm.bias"),
        // Stem; the ^ keeps "conv1" of other components (e.g. heads) untouched.
        (new(@"^res\.conv1\.norm\."), "conv1.norm."),
        (new(@"^conv1\."), "stem.conv1."),
    ];

    private static readonly (string From, string To)[] BlockRules =
    [
        (".branch1.", ".shortcut."), (".branch2a.", ".conv1."), (".branch2b.", ".conv2."), (".branch2c.", ".conv3."),
    ];

    /// <summary><c>convert_basic_c2_names</c> for one name: backbone (ResNet) blobs, e.g. <c>res2_0_branch2a_bn_s</c> -> <c>res2.0.conv1.norm.weight</c>.</summary>
    public static string ConvertBasicName(string key)
    {
        var name = key switch { "pred_b" => "linear_b", "pred_w" => "linear_w", _ => key };
        name = name.Replace('_', '.');
        foreach (var (pattern, replacement) in NormRules)
            name = pattern.Replace(name, replacement);
        foreach (var (from, to) in BlockRules)
            name = name.Replace(from, to, StringComparison.Ordinal);
        // DensePose heads, kept so that the mapping is Detectron2's in full.
        name = Regex.Replace(name, "^body.conv.fcn", "body_conv_fcn");
        return name.Replace("AnnIndex.lowres", "ann_index_lowres", StringComparison.Ordinal)
            .Replace("Index.UV.lowres", "index_uv_lowres", StringComparison.Ordinal)
            .Replace("U.lowres", "u_lowres", StringComparison.Ordinal)
            .Replace("V.lowres", "v_lowres", StringComparison.Ordinal);
    }

    /// <summary><c>convert_c2_detectron_names</c> for one name: the basic rules, then RPN, box head, FPN, mask and keypoint heads.</summary>
    public static string ConvertDetectronName(string key)
    {
        var name = ConvertBasicName(key);
        // RPN: Caffe2 defines the FPN-level-2 conv and shares it, hence "fpn2".
        name = name.Replace("conv.rpn.fpn2", "proposal_generator.rpn_head.conv", StringComparison.Ordinal)
            .Replace("conv.rpn", "proposal_generator.rpn_head.conv", StringComparison.Ordinal)
            .Replace("rpn.bbox.pred.fpn2", "proposal_generator.rpn_head.anchor_deltas", StringComparison.Ordinal)
            .Replace("rpn.cls.logits.fpn2", "proposal_generator.rpn_head.objectness_logits", StringComparison.Ordinal)
            .Replace("rpn.bbox.pred", "proposal_generator.rpn_head.anchor_deltas", StringComparison.Ordinal)
            .Replace("rpn.cls.logits", "proposal_generator.rpn_head.objectness_logits", StringComparison.Ordinal);
        // Fast R-CNN box head.
        name = Regex.Replace(name, @"^bbox\.pred", "bbox_pred");
        name = Regex.Replace(name, @"^cls\.score", "cls_score");
        name = Regex.Replace(name, @"^fc6\.", "box_head.fc1.");
        name = Regex.Replace(name, @"^fc7\.", "box_head.fc2.");
        name = Regex.Replace(name, @"^head\.conv", "box_head.conv");
        name = FPNName(name);
        // Mask head (StandardROIHeads, then Res5ROIHeads).
        name = name.Replace(".[mask].fcn", "mask_head.mask_fcn", StringComparison.Ordinal);
        name = Regex.Replace(name, @"^\.mask\.fcn", "mask_head.mask_fcn");
        name = name.Replace("mask.fcn.logits", "mask_head.predictor", StringComparison.Ordinal)
            .Replace("conv5.mask", "mask_head.deconv", StringComparison.Ordinal);
        // Keypoint head.
        return name.Replace("conv.fcn", "roi_heads.keypoint_head.conv_fcn", StringComparison.Ordinal)
            .Replace("kps.score.lowres", "roi_heads.keypoint_head.score_lowres", StringComparison.Ordinal)
            .Replace("kps.score.", "roi_heads.keypoint_head.score.", StringComparison.Ordinal);
    }

    /// <summary>FPN: <c>fpn.inner.res2.2.sum.lateral.weight</c> -> <c>fpn_lateral2.weight</c>; <c>fpn.res2.2.sum.weight</c> -> <c>fpn_output2.weight</c>.</summary>
    private static string FPNName(string name)
    {
        var parts = name.Split('.');
        var norm = parts.Contains("norm") ? ".norm" : "";
        if (name.StartsWith("fpn.inner.", StringComparison.Ordinal))
            return $"fpn_lateral{Stage(name, parts[2])}{norm}.{parts[^1]}";
        if (name.StartsWith("fpn.res", StringComparison.Ordinal))
            return $"fpn_output{Stage(name, parts[1])}{norm}.{parts[^1]}";
        return name;
    }

    private static int Stage(string name, string part) =>
        part.StartsWith("res", StringComparison.Ordinal) && int.TryParse(part.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var stage)
            ? stage
            : throw new InvalidDataException($"Caffe2 FPN blob '{name}' has no resN stage.");

    /// <summary>
    /// Renames all blobs (sorted, as Detectron2 does) and fixes Detectron1 class layouts: <c>bbox_pred</c> drops the 4
    /// background rows, the mask predictor drops channel 0, <c>cls_score</c> moves row 0 (background) to the end.
    /// </summary>
    /// <returns>renamed tensors (new tensors where rows changed), renamed -> original names, and log lines</returns>
    internal static (Dictionary<string, Tensor> Weights, Dictionary<string, string> OriginalNames, List<string> Notes) Convert(
        IReadOnlyDictionary<string, Tensor> weights)
    {
        var notes = new List<string> { "Remapping C2 weights ......" };
        var originals = weights.Keys.Order(StringComparer.Ordinal).ToList();
        var renamedKeys = originals.Select(ConvertDetectronName).ToList();
        var duplicate = renamedKeys.GroupBy(k => k, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidDataException($"Caffe2 names {string.Join(", ", originals.Where((_, i) => renamedKeys[i] == duplicate.Key).Select(n => $"'{n}'"))} all become '{duplicate.Key}'.");

        var converted = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var originalNames = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < originals.Count; i++)
        {
            var (original, renamed) = (originals[i], renamedKeys[i]);
            var value = weights[original];
            originalNames[renamed] = original;
            if (renamed.StartsWith("bbox_pred.", StringComparison.Ordinal) || renamed.StartsWith("mask_head.predictor.", StringComparison.Ordinal))
            {
                var start = renamed.StartsWith("bbox_pred.", StringComparison.Ordinal) ? 4 : 1;
                converted[renamed] = value[TensorIndex.Slice(start)];
                notes.Add($"Remove prediction weight for background class in {renamed}. The shape changes from {ShapeText.Tuple(value.shape)} to {ShapeText.Tuple(converted[renamed].shape)}.");
            }
            else if (renamed.StartsWith("cls_score.", StringComparison.Ordinal))
            {
                notes.Add($"Move classification weights for background class in {renamed} from index 0 to index {value.shape[0] - 1}.");
                converted[renamed] = cat([value[TensorIndex.Slice(1)], value[TensorIndex.Slice(0, 1)]]);
            }
            else
            {
                converted[renamed] = value;
            }
        }
        return (converted, originalNames, notes);
    }
}
