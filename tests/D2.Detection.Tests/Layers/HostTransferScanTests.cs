using System.Text.RegularExpressions;

namespace D2.Detection.Tests.Layers;

/// <summary>
/// On CUDA every host transfer stalls the device, so the model's source may copy tensors to the host only where this
/// list says why: the CPU kernels, Detectron2's own synchronisation points (its asserts and logged statistics), the
/// tensor-op path's one sync per op (where torchvision/Detectron2 sync too), diagnostics, and output serialisation.
/// A new transfer fails this test until it is listed with its reason, so the rule holds as the code grows.
/// </summary>
public class HostTransferScanTests
{
    static readonly Regex Transfer = new(@"\.cpu\(\)|\.item<|\.data<|TensorMemory\.ToArray<|Selection\.ToIndexArray|\.tolist\(", RegexOptions.Compiled);

    /// <summary>Per file (under trainer/D2.Detection): the number of transfers allowed, and why.</summary>
    static readonly Dictionary<string, (int Count, string Reason)> Allowed = new()
    {
        ["Layers/ROIAlignKernel.cs"] = (4, "the managed CPU kernel reads CPU memory (CPU tensors only; .cpu() is a no-op there)"),
        ["Layers/NMSKernel.cs"] = (3, "the managed CPU kernel reads CPU memory (CPU tensors only)"),
        ["Layers/ROIAlign.cs"] = (1, "the CPU path's per-ROI levels for the managed kernel (CPU tensors only)"),
        ["Layers/NMS.cs"] = (1, "the CPU path's categories for the managed kernel (CPU tensors only)"),
        ["Layers/NMSTensorOps.cs"] = (2, "the greedy scan over the packed overlap bits, one sync per NMS as torchvision's CUDA nms; above 5,000 boxes batched NMS reads the category list once and runs per category, as torchvision's batched_nms does on CUDA"),
        ["Layers/ROIAlignTensorOps.cs"] = (1, "one sync per call for the plan (per ROI: level, sample grid, window size, batch-index check), fewer than Detectron2's ROIPooler (one nonzero per level)"),
        ["Layers/ScalarSafeBatchNorm2d.cs"] = (1, "only with momentum None (cumulative average), as torch's BatchNorm; never with Detectron2's 0.1"),
        ["Structures/Selection.cs"] = (1, "index lists for list-backed fields (polygons)"),
        ["Layers/TensorMemory.cs"] = (1, "the helper behind the listed ToArray call sites (one block copy to the host)"),
        ["Structures/Instances.cs"] = (1, "indexing a host-side field (PolygonMasks are Python lists in Detectron2 too)"),
        ["Structures/PolygonMasks.cs"] = (2, "polygons live on the host in Detectron2 too; rasterising them needs the boxes there"),
        ["Structures/BitMasks.cs"] = (1, "mask to polygon/RLE conversion for output, on the host as in Detectron2/pycocotools"),
        ["Structures/Boxes.cs"] = (1, "Boxes.clip asserts finite coordinates; Detectron2 synchronises there too"),
        ["Modeling/Box2BoxTransform.cs"] = (1, "Detectron2's get_deltas asserts positive source widths (a sync in Detectron2 too)"),
        ["Modeling/Matcher.cs"] = (1, "Detectron2's Matcher asserts non-negative quality (a sync in Detectron2 too)"),
        ["Modeling/ProposalGenerator/RPNProposals.cs"] = (1, "find_top_rpn_proposals checks for non-finite boxes (valid_mask.all(), a sync in Detectron2 too)"),
        ["Modeling/ProposalGenerator/RPN.cs"] = (2, "rpn/num_pos_anchors and num_neg_anchors statistics (.item() in Detectron2 too)"),
        ["Modeling/ROIHeads/ROIHeads.cs"] = (1, "roi_head/num_bg_samples statistic (.item() in Detectron2 too)"),
        ["Modeling/ROIHeads/FastRCNNOutputLayers.cs"] = (4, "fast_rcnn/cls_accuracy, fg_cls_accuracy, false_negative (nonzero().numel() in Detectron2 too)"),
        ["Modeling/ROIHeads/MaskRCNNLoss.cs"] = (4, "mask_rcnn/accuracy, false_positive, false_negative (.item() in Detectron2 too)"),
        ["Modeling/Postprocessing.cs"] = (1, "CPU paste only: the boxes' regions (Detectron2's skip_empty reads them on the host the same way)"),
        ["Modeling/InferenceTrace.cs"] = (7, "opt-in diagnostic trace of inference (off unless requested)"),
        ["Inference/PredictionArrays.cs"] = (4, "predictions handed to the caller as host arrays (the output; each mask read on the host for RLE or drawing)"),
    };

    static string SourceRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                return Path.Combine(dir.FullName, "trainer", "D2.Detection");
        throw new InvalidOperationException("MLOps.sln not found above the test directory.");
    }

    [Test]
    public void Model_source_transfers_to_the_host_only_where_listed()
    {
        var root = SourceRoot();
        var found = new Dictionary<string, int>();
        foreach (var folder in new[] { "Modeling", "Layers", "Structures", "Inference" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*.cs", SearchOption.AllDirectories))
            {
                var count = Transfer.Matches(File.ReadAllText(file)).Count;
                if (count > 0)
                    found[Path.GetRelativePath(root, file).Replace('\\', '/')] = count;
            }
        Assert.That(found.Keys, Is.Not.Empty, "the scan reads the source");
        var unexpected = found.Where(f => !Allowed.TryGetValue(f.Key, out var a) || f.Value > a.Count)
            .Select(f => $"{f.Key}: {f.Value} host transfers, {(Allowed.TryGetValue(f.Key, out var a) ? a.Count : 0)} allowed").ToList();
        Assert.That(unexpected, Is.Empty, "host transfers (.cpu(), .item<>, .data<>) not on the allowed list; list them with a reason or keep the tensor on its device");
        var stale = Allowed.Where(a => !found.TryGetValue(a.Key, out var n) || n < a.Value.Count).Select(a => a.Key).ToList();
        Assert.That(stale, Is.Empty, "allowed entries with fewer transfers than listed: lower the count so the list stays exact");
    }
}
