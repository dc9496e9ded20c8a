using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// NMS from tensor operations, the bitmask formulation of torchvision's CUDA kernel: on the device, sort by score
/// (stable: ties in index order, NaN first, as <see cref="NMSKernel"/>), compute the IoU of every pair in blocks of rows
/// with the same expression as the kernel, and pack "j after i overlaps i" into bits. The packed mask (N·N/8 bytes) is
/// copied to the host once and scanned greedily there, and the kept indices go back to the device: one sync per call,
/// where torchvision's CUDA nms synchronises too (it copies its 64-bit mask blocks to the host for the same scan).
/// Batched NMS masks pairs of different categories out of the overlap matrix instead of torchvision's coordinate
/// offset, which changes float rounding; the keep set is what per-category NMS gives, as with the offset.
/// </summary>
internal static class NMSTensorOps
{
    // Rows of the IoU matrix computed at once: at most MaxRowBlock, and fewer for large N so that one block holds
    // about BlockElements pairs. A block's temporaries (a dozen of them, up to 8 bytes per pair) are freed before the
    // next block, so the transient memory stays near BlockElements x 100 bytes whatever N is; only the packed
    // N x N/8-byte mask grows with N², as in torchvision's kernel.
    const long MaxRowBlock = 1024;
    const long BlockElements = 1 << 22;

    // Batched NMS over more boxes than this runs category by category, as torchvision's batched_nms does on CUDA
    // above 5,000 boxes: one pass over N boxes costs N² pairs, per category the sum of each category's square. Measured
    // on an H200: 80,000 candidates of 80 categories (SCORE_THRESH_TEST 0) took ~1 s in one pass.
    const long PerCategoryAbove = 5000;

    /// <param name="boxes">(N, 4) float32 or float64</param>
    /// <param name="classes">(N) integer category per box, or null for one category</param>
    /// <returns>(K) int64 kept indices by decreasing score, on the boxes' device</returns>
    public static Tensor Run(Tensor boxes, Tensor scores, Tensor? classes, double iouThreshold)
    {
        using var scope = NewDisposeScope();
        var device = boxes.device;
        var n = boxes.shape[0];
        if (n == 0)
            return empty(0, ScalarType.Int64, device).MoveToOuterDisposeScope();
        if (classes is not null && n > PerCategoryAbove)
            return PerCategory(boxes, scores, classes, iouThreshold).MoveToOuterDisposeScope();
        var order = scores.to(ScalarType.Float64).sort(0, descending: true, stable: true).Indices;
        var sorted = boxes.index_select(0, order);
        var sortedClasses = classes?.to(ScalarType.Int64).index_select(0, order);
        var threshold = boxes.dtype == ScalarType.Float64
            ? NMSKernel.SmallestAbove<double>(iouThreshold)
            : NMSKernel.SmallestAbove<float>(iouThreshold);
        var mask = OverlapBits(sorted, sortedClasses, threshold);
        // The sync: the greedy scan visits boxes in order, each depending on the ones kept before it.
        var bits = TensorMemory.ToArray<byte>(mask);
        var kept = Scan(bits, (int)n);
        var keptPositions = tensor(kept, ScalarType.Int64).to(device);
        return order.index_select(0, keptPositions).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// NMS within each category, then the union of the kept boxes by decreasing score: the same keep set and order as one
    /// pass with categories masked (a box never suppresses another category's), with ties in index order since the
    /// union is gathered in index order and sorted stably. One host sync for the categories, one per category.
    /// </summary>
    static Tensor PerCategory(Tensor boxes, Tensor scores, Tensor classes, double iouThreshold)
    {
        var categories = classes.to(ScalarType.Int64);
        var keep = zeros(boxes.shape[0], ScalarType.Bool, boxes.device);
        foreach (var category in TensorMemory.ToArray<long>(categories.unique().Item1))
        {
            using var categoryScope = NewDisposeScope();
            using var categoryScalar = category.ToScalar();
            var members = categories.eq(categoryScalar).nonzero().squeeze(1);
            var kept = Run(boxes.index_select(0, members), scores.index_select(0, members), null, iouThreshold);
            keep.index_put_(tensor(true, ScalarType.Bool, boxes.device), members.index_select(0, kept));
        }
        var keptIndices = keep.nonzero().squeeze(1);
        var byScore = scores.index_select(0, keptIndices).to(ScalarType.Float64).sort(0, descending: true, stable: true).Indices;
        return keptIndices.index_select(0, byScore);
    }

    /// <summary>(N, ceil(N/8)) bytes: bit j of row i is set when sorted box j (j &gt; i) overlaps box i above the threshold.</summary>
    static Tensor OverlapBits(Tensor sorted, Tensor? classes, double threshold)
    {
        var n = sorted.shape[0];
        var width = (n + 7) / 8;
        var x1 = sorted.select(1, 0);
        var y1 = sorted.select(1, 1);
        var x2 = sorted.select(1, 2);
        var y2 = sorted.select(1, 3);
        var area = x2.sub(x1).mul(y2.sub(y1));
        var column = Arange(n, ScalarType.Int64, sorted.device);
        using var thresholdScalar = threshold.ToScalar();
        var bitValues = tensor(new long[] { 1, 2, 4, 8, 16, 32, 64, 128 }, ScalarType.Int64).to(sorted.device);
        var blocks = new List<Tensor>();
        var rowBlock = Math.Clamp(BlockElements / n, 1, MaxRowBlock);
        for (long start = 0; start < n; start += rowBlock)
        {
            using var blockScope = NewDisposeScope();
            var rows = Math.Min(rowBlock, n - start);
            var w = minimum(x2.narrow(0, start, rows).unsqueeze(1), x2.unsqueeze(0))
                .sub(maximum(x1.narrow(0, start, rows).unsqueeze(1), x1.unsqueeze(0))).clamp_min(ZeroFloat);
            var h = minimum(y2.narrow(0, start, rows).unsqueeze(1), y2.unsqueeze(0))
                .sub(maximum(y1.narrow(0, start, rows).unsqueeze(1), y1.unsqueeze(0))).clamp_min(ZeroFloat);
            var inter = w.mul(h);
            var iou = inter.div(area.narrow(0, start, rows).unsqueeze(1).add(area.unsqueeze(0), One).sub(inter));
            // NaN >= threshold is false, so a NaN IoU (zero union) or NaN threshold never suppresses.
            var over = iou.ge(thresholdScalar).logical_and(column.unsqueeze(0).gt(column.narrow(0, start, rows).unsqueeze(1)));
            if (classes is not null)
                over = over.logical_and(classes.narrow(0, start, rows).unsqueeze(1).eq(classes.unsqueeze(0)));
            var padded = nn.functional.pad(over.to(ScalarType.Int64), [0, width * 8 - n]);
            blocks.Add(padded.view(rows, width, 8).mul(bitValues).sum(2).to(ScalarType.Byte).MoveToOuterDisposeScope());
        }
        return blocks.Count == 1 ? blocks[0] : cat(blocks);
    }

    /// <summary>torchvision's host scan: keep a box unless a kept box before it marked it.</summary>
    static long[] Scan(byte[] bits, int n)
    {
        var width = (n + 7) / 8;
        var removed = new byte[width];
        var kept = new List<long>();
        for (var i = 0; i < n; i++)
        {
            if ((removed[i >> 3] & (1 << (i & 7))) != 0)
                continue;
            kept.Add(i);
            var row = bits.AsSpan(i * width, width);
            for (var k = i >> 3; k < width; k++)
                removed[k] |= row[k];
        }
        return [.. kept];
    }
}
