using System.Numerics;
using System.Runtime.Intrinsics;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// Greedy NMS over raw arrays: boxes are gathered once into score order (structure of arrays), then each kept box
/// suppresses the later boxes with a SIMD sweep. Every IoU is computed with torchvision's expression in the boxes'
/// precision, so the kept set matches torchvision's kernel for the same visiting order.
/// </summary>
internal static class NMSKernel
{
    /// <param name="boxes">(N, 4) XYXY, any device</param>
    /// <param name="scores">(N)</param>
    /// <param name="classes">per box category, or null for one category</param>
    /// <returns>kept indices, by decreasing score, ties in index order</returns>
    public static long[] Run(Tensor boxes, Tensor scores, long[]? classes, double iouThreshold)
    {
        using var scope = NewDisposeScope();
        if (boxes.shape[0] == 0)
            return [];
        var order = OrderByScoreDescending(scores.cpu().to(ScalarType.Float64).contiguous());
        if (boxes.dtype == ScalarType.Float64)
            return Suppress(TensorMemory.Span<double>(boxes.cpu().contiguous()), order, classes, iouThreshold);
        return Suppress(TensorMemory.Span<float>(boxes.cpu().to(ScalarType.Float32).contiguous()), order, classes, iouThreshold);
    }

    /// <summary>Indices by decreasing score; NaN first (as torch.sort puts it), equal scores by increasing index.</summary>
    static int[] OrderByScoreDescending(Tensor scores)
    {
        ReadOnlySpan<double> values = TensorMemory.Span<double>(scores);
        var order = new int[values.Length];
        if (values.Length == 0)
            return order;
        if (IsFloat32(values))
        {
            // A float32 score's 32-bit key leaves the lower half of a word for the index: one primitive sort of the
            // packed words orders by (score, index).
            var packed = new ulong[values.Length];
            for (var i = 0; i < values.Length; i++)
                packed[i] = ((ulong)DescendingKey((float)values[i]) << 32) | (uint)i;
            Array.Sort(packed);
            for (var i = 0; i < order.Length; i++)
                order[i] = (int)(uint)packed[i];
            return order;
        }
        var entries = new (ulong Key, int Index)[values.Length];
        for (var i = 0; i < values.Length; i++)
            entries[i] = (DescendingKey(values[i]), i);
        Array.Sort(entries, static (a, b) => a.Key != b.Key ? a.Key.CompareTo(b.Key) : a.Index.CompareTo(b.Index));
        for (var i = 0; i < order.Length; i++)
            order[i] = entries[i].Index;
        return order;
    }

    /// <summary>Whether every value is a float32 widened to double, so that its float32 key orders it exactly.</summary>
    static bool IsFloat32(ReadOnlySpan<double> values)
    {
        foreach (var v in values)
            if (!double.IsNaN(v) && (double)(float)v != v)
                return false;
        return true;
    }

    /// <summary>An unsigned key that sorts ascending in the order of decreasing value, NaN first and -0 equal to +0.</summary>
    static ulong DescendingKey(double value)
    {
        if (double.IsNaN(value))
            return 0;
        var bits = BitConverter.DoubleToUInt64Bits(value == 0 ? 0.0 : value);
        return (bits & (1UL << 63)) != 0 ? bits : ~(bits | (1UL << 63));
    }

    /// <inheritdoc cref="DescendingKey(double)"/>
    static uint DescendingKey(float value)
    {
        if (float.IsNaN(value))
            return 0;
        var bits = BitConverter.SingleToUInt32Bits(value == 0 ? 0f : value);
        return (bits & (1U << 31)) != 0 ? bits : ~(bits | (1U << 31));
    }

    static long[] Suppress<T>(ReadOnlySpan<T> boxes, int[] order, long[]? classes, double iouThreshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Within a category the boxes stay in score order; categories are suppressed independently.
        var ranks = new int[order.Length];
        for (var i = 0; i < ranks.Length; i++)
            ranks[i] = i;
        if (classes is not null)
            Array.Sort(ranks, (a, b) => classes[order[a]] != classes[order[b]] ? classes[order[a]].CompareTo(classes[order[b]]) : a.CompareTo(b));

        var n = order.Length;
        var x1 = new T[n];
        var y1 = new T[n];
        var x2 = new T[n];
        var y2 = new T[n];
        var area = new T[n];
        for (var k = 0; k < n; k++)
        {
            var b = boxes.Slice(order[ranks[k]] * 4, 4);
            (x1[k], y1[k], x2[k], y2[k]) = (b[0], b[1], b[2], b[3]);
            area[k] = (b[2] - b[0]) * (b[3] - b[1]);
        }

        var suppressed = new T[n];
        var threshold = SmallestAbove<T>(iouThreshold);
        for (var start = 0; start < n;)
        {
            var end = start + 1;
            if (classes is not null)
                while (end < n && classes[order[ranks[end]]] == classes[order[ranks[start]]])
                    end++;
            else
                end = n;
            SuppressSegment(x1, y1, x2, y2, area, suppressed, start, end, threshold);
            start = end;
        }

        var keptRanks = new List<int>();
        for (var k = 0; k < n; k++)
            if (!T.IsNaN(suppressed[k]))
                keptRanks.Add(ranks[k]);
        keptRanks.Sort();
        var keep = new long[keptRanks.Count];
        for (var i = 0; i < keep.Length; i++)
            keep[i] = order[keptRanks[i]];
        return keep;
    }

    /// <summary>
    /// Greedy suppression of boxes start..end-1 (score order). A suppressed box has all bits set in
    /// <paramref name="suppressed"/> (a NaN), so a vector compare result can be OR-ed in directly. Kept boxes are
    /// swept two at a time: the first box that survives a kept box is itself kept (every earlier kept box has swept
    /// it already), so both can sweep the rest in one pass over the arrays.
    /// </summary>
    static void SuppressSegment<T>(T[] x1, T[] y1, T[] x2, T[] y2, T[] area, T[] suppressed, int start, int end, T threshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (var i = start; i < end; i++)
        {
            if (T.IsNaN(suppressed[i]))
                continue;
            var partner = -1;
            for (var j = i + 1; j < end && partner < 0; j++)
            {
                if (T.IsNaN(suppressed[j]))
                    continue;
                if (Iou(x1, y1, x2, y2, area, i, j) >= threshold)
                    suppressed[j] = T.NaN;
                else
                    partner = j;
            }
            if (partner < 0)
                return;
            SweepPair(x1, y1, x2, y2, area, suppressed, i, partner, end, threshold);
            i = partner;
        }
    }

    /// <summary>Suppresses every box after <paramref name="second"/> that overlaps either kept box.</summary>
    static void SweepPair<T>(T[] x1, T[] y1, T[] x2, T[] y2, T[] area, T[] suppressed, int first, int second, int end, T threshold)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref var rx1 = ref x1[0];
        ref var ry1 = ref y1[0];
        ref var rx2 = ref x2[0];
        ref var ry2 = ref y2[0];
        ref var rarea = ref area[0];
        ref var rsuppressed = ref suppressed[0];
        var j = second + 1;
        // MaxNative/MinNative are the plain max/min instructions (the IEEE-exact Max/Min cost several more); they
        // differ only for NaN and the sign of zero, which cannot change a comparison against a threshold here.
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            Vector512<T> ax1 = Vector512.Create(x1[first]), ay1 = Vector512.Create(y1[first]), ax2 = Vector512.Create(x2[first]), ay2 = Vector512.Create(y2[first]), aarea = Vector512.Create(area[first]);
            Vector512<T> bx1 = Vector512.Create(x1[second]), by1 = Vector512.Create(y1[second]), bx2 = Vector512.Create(x2[second]), by2 = Vector512.Create(y2[second]), barea = Vector512.Create(area[second]);
            var limit = Vector512.Create(threshold);
            for (; j <= end - Vector512<T>.Count; j += Vector512<T>.Count)
            {
                var at = (nuint)j;
                Vector512<T> cx1 = Vector512.LoadUnsafe(ref rx1, at), cy1 = Vector512.LoadUnsafe(ref ry1, at), cx2 = Vector512.LoadUnsafe(ref rx2, at), cy2 = Vector512.LoadUnsafe(ref ry2, at), carea = Vector512.LoadUnsafe(ref rarea, at);
                var interA = Vector512.MaxNative(Vector512<T>.Zero, Vector512.MinNative(ax2, cx2) - Vector512.MaxNative(ax1, cx1))
                    * Vector512.MaxNative(Vector512<T>.Zero, Vector512.MinNative(ay2, cy2) - Vector512.MaxNative(ay1, cy1));
                var interB = Vector512.MaxNative(Vector512<T>.Zero, Vector512.MinNative(bx2, cx2) - Vector512.MaxNative(bx1, cx1))
                    * Vector512.MaxNative(Vector512<T>.Zero, Vector512.MinNative(by2, cy2) - Vector512.MaxNative(by1, cy1));
                var over = Vector512.GreaterThanOrEqual(interA / (aarea + carea - interA), limit)
                    | Vector512.GreaterThanOrEqual(interB / (barea + carea - interB), limit);
                (Vector512.LoadUnsafe(ref rsuppressed, at) | over).StoreUnsafe(ref rsuppressed, at);
            }
        }
        if (Vector.IsHardwareAccelerated)
        {
            Vector<T> ax1 = new(x1[first]), ay1 = new(y1[first]), ax2 = new(x2[first]), ay2 = new(y2[first]), aarea = new(area[first]);
            Vector<T> bx1 = new(x1[second]), by1 = new(y1[second]), bx2 = new(x2[second]), by2 = new(y2[second]), barea = new(area[second]);
            var limit = new Vector<T>(threshold);
            for (; j <= end - Vector<T>.Count; j += Vector<T>.Count)
            {
                var at = (nuint)j;
                Vector<T> cx1 = Vector.LoadUnsafe(ref rx1, at), cy1 = Vector.LoadUnsafe(ref ry1, at), cx2 = Vector.LoadUnsafe(ref rx2, at), cy2 = Vector.LoadUnsafe(ref ry2, at), carea = Vector.LoadUnsafe(ref rarea, at);
                var interA = Vector.MaxNative(Vector<T>.Zero, Vector.MinNative(ax2, cx2) - Vector.MaxNative(ax1, cx1))
                    * Vector.MaxNative(Vector<T>.Zero, Vector.MinNative(ay2, cy2) - Vector.MaxNative(ay1, cy1));
                var interB = Vector.MaxNative(Vector<T>.Zero, Vector.MinNative(bx2, cx2) - Vector.MaxNative(bx1, cx1))
                    * Vector.MaxNative(Vector<T>.Zero, Vector.MinNative(by2, cy2) - Vector.MaxNative(by1, cy1));
                var over = Vector.GreaterThanOrEqual(interA / (aarea + carea - interA), limit)
                    | Vector.GreaterThanOrEqual(interB / (barea + carea - interB), limit);
                (Vector.LoadUnsafe(ref rsuppressed, at) | over).StoreUnsafe(ref rsuppressed, at);
            }
        }
        for (; j < end; j++)
            if (Iou(x1, y1, x2, y2, area, first, j) >= threshold || Iou(x1, y1, x2, y2, area, second, j) >= threshold)
                suppressed[j] = T.NaN;
    }

    /// <summary>torchvision's IoU expression for boxes i (the kept one) and j, in T.</summary>
    static T Iou<T>(T[] x1, T[] y1, T[] x2, T[] y2, T[] area, int i, int j) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var w = T.Max(T.Zero, T.Min(x2[i], x2[j]) - T.Max(x1[i], x1[j]));
        var h = T.Max(T.Zero, T.Min(y2[i], y2[j]) - T.Max(y1[i], y1[j]));
        var inter = w * h;
        return inter / (area[i] + area[j] - inter);
    }

    /// <summary>
    /// The smallest value of <typeparamref name="T"/> above <paramref name="threshold"/>: for a T-precision IoU,
    /// "IoU >= that" is exactly torchvision's "IoU > threshold" with the IoU widened to double. NaN (never true) when
    /// no finite T lies above the threshold or the threshold is NaN.
    /// </summary>
    internal static T SmallestAbove<T>(double threshold) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (double.IsNaN(threshold) || threshold >= double.CreateTruncating(T.BitDecrement(T.PositiveInfinity)))
            return T.NaN;
        var rounded = T.CreateTruncating(threshold);
        return double.CreateTruncating(rounded) <= threshold ? T.BitIncrement(rounded) : rounded;
    }
}
