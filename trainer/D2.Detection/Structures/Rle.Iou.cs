namespace D2.Detection.Structures;

/// <summary>Set operations on runs (pycocotools rleMerge, rleIou, bbIou): cost grows with the runs, not the pixels.</summary>
public sealed partial class Rle
{
    /// <summary>pycocotools rleMerge: union (or intersection) of masks of one size.</summary>
    public static Rle Merge(IReadOnlyList<Rle> rles, bool intersect = false)
    {
        ArgumentNullException.ThrowIfNull(rles);
        if (rles.Count == 0) throw new ArgumentException("Merge needs at least one RLE.", nameof(rles));
        var first = rles[0] ?? throw new ArgumentException("RLE 0 is null.", nameof(rles));
        // A single mask comes back with its runs untouched, as in pycocotools.
        if (rles.Count == 1) return new Rle(first.Height, first.Width, (uint[])first._counts.Clone(), validate: false);
        var total = (ulong)first.Height * (ulong)first.Width;
        var merged = first._counts;
        for (var i = 1; i < rles.Count; i++)
        {
            var next = rles[i] ?? throw new ArgumentException($"RLE {i} is null.", nameof(rles));
            if (next.Height != first.Height || next.Width != first.Width)
                throw new ArgumentException(
                    $"Cannot merge RLE {i} of size {next.Height}x{next.Width} with RLE 0 of size {first.Height}x{first.Width}.",
                    nameof(rles));
            merged = Combine(merged, next._counts, intersect, total);
        }
        return new Rle(first.Height, first.Width, merged, validate: false);
    }

    /// <summary>Walks the runs of two masks in step and emits the runs of their union/intersection.</summary>
    static uint[] Combine(uint[] a, uint[] b, bool intersect, ulong total)
    {
        // A 0-pixel mask may arrive with no runs at all (decoded from an empty string).
        if (total == 0) return [0];
        var runs = new List<uint>(a.Length + b.Length);
        ulong endA = a[0], endB = b[0], runStart = 0;
        int ia = 0, ib = 0;
        bool onA = false, onB = false, on = false;
        while (true)
        {
            var p = Math.Min(endA, endB);
            if (p >= total) break;
            // The while loops step over empty runs (a leading empty 0-run, or any in hand-written uncompressed RLEs).
            while (endA == p && ia + 1 < a.Length) { onA = !onA; endA += a[++ia]; }
            while (endB == p && ib + 1 < b.Length) { onB = !onB; endB += b[++ib]; }
            var value = intersect ? onA && onB : onA || onB;
            if (value != on)
            {
                runs.Add((uint)(p - runStart));
                runStart = p;
                on = value;
            }
        }
        runs.Add((uint)(total - runStart));
        return runs.ToArray();
    }

    /// <summary>Number of pixels on in both masks (same size assumed).</summary>
    static long IntersectionArea(uint[] a, uint[] b, ulong total)
    {
        long inter = 0;
        ulong endA = a[0], endB = b[0], position = 0;
        int ia = 0, ib = 0;
        bool onA = false, onB = false;
        while (true)
        {
            var p = Math.Min(endA, endB);
            if (onA && onB) inter += (long)(p - position);
            position = p;
            if (p >= total) break;
            while (endA == p && ia + 1 < a.Length) { onA = !onA; endA += a[++ia]; }
            while (endB == p && ib + 1 < b.Length) { onB = !onB; endB += b[++ib]; }
        }
        return inter;
    }

    /// <summary>
    /// IoU matrix [dt.Count, gt.Count]; for a crowd gt the denominator is the dt area (pycocotools rleIou / bbIou semantics).
    /// </summary>
    /// <exception cref="ArgumentException">isCrowd does not match gt, or a dt and a gt differ in size.</exception>
    public static double[,] Iou(IReadOnlyList<Rle> detections, IReadOnlyList<Rle> groundTruths, IReadOnlyList<bool> isCrowd)
    {
        ArgumentNullException.ThrowIfNull(detections);
        ArgumentNullException.ThrowIfNull(groundTruths);
        ArgumentNullException.ThrowIfNull(isCrowd);
        if (isCrowd.Count != groundTruths.Count)
            throw new ArgumentException(
                $"isCrowd has {isCrowd.Count} flags but there are {groundTruths.Count} ground truths.", nameof(isCrowd));
        var result = new double[detections.Count, groundTruths.Count];
        for (var g = 0; g < groundTruths.Count; g++)
        {
            var gt = groundTruths[g] ?? throw new ArgumentException($"Ground truth {g} is null.", nameof(groundTruths));
            var gtBox = gt.CachedBbox();
            for (var d = 0; d < detections.Count; d++)
            {
                var dt = detections[d] ?? throw new ArgumentException($"Detection {d} is null.", nameof(detections));
                // pycocotools answers -1 here; a size mismatch is a caller bug, so say so instead.
                if (dt.Height != gt.Height || dt.Width != gt.Width)
                    throw new ArgumentException(
                        $"Detection {d} is {dt.Height}x{dt.Width} but ground truth {g} is {gt.Height}x{gt.Width}; masks must share the image size.");
                // Boxes that do not overlap cannot hold overlapping masks: the same shortcut as rleIou.
                if (PairBoxIou(dt.CachedBbox(), gtBox, isCrowd[g]) <= 0) continue;
                var inter = IntersectionArea(dt._counts, gt._counts, (ulong)gt.Height * (ulong)gt.Width);
                if (inter == 0) continue;
                var union = isCrowd[g] ? dt.Area() : dt.Area() + gt.Area() - inter;
                result[d, g] = (double)inter / union;
            }
        }
        return result;
    }

    /// <summary>
    /// pycocotools bbIou on [x, y, w, h] boxes: IoU matrix [dt.Count, gt.Count], the dt area as denominator for a crowd gt.
    /// </summary>
    public static double[,] BoxIou(
        IReadOnlyList<double[]> detectionsXywh, IReadOnlyList<double[]> groundTruthsXywh, IReadOnlyList<bool> isCrowd)
    {
        ArgumentNullException.ThrowIfNull(detectionsXywh);
        ArgumentNullException.ThrowIfNull(groundTruthsXywh);
        ArgumentNullException.ThrowIfNull(isCrowd);
        if (isCrowd.Count != groundTruthsXywh.Count)
            throw new ArgumentException(
                $"isCrowd has {isCrowd.Count} flags but there are {groundTruthsXywh.Count} ground truths.", nameof(isCrowd));
        CheckBoxes(detectionsXywh, nameof(detectionsXywh));
        CheckBoxes(groundTruthsXywh, nameof(groundTruthsXywh));
        var result = new double[detectionsXywh.Count, groundTruthsXywh.Count];
        for (var g = 0; g < groundTruthsXywh.Count; g++)
        for (var d = 0; d < detectionsXywh.Count; d++)
            result[d, g] = PairBoxIou(detectionsXywh[d], groundTruthsXywh[g], isCrowd[g]);
        return result;
    }

    static void CheckBoxes(IReadOnlyList<double[]> boxes, string name)
    {
        for (var i = 0; i < boxes.Count; i++)
        {
            if (boxes[i] is not { Length: 4 })
                throw new ArgumentException($"Box {i} must be [x, y, w, h] but has {boxes[i]?.Length.ToString() ?? "null"} values.", name);
        }
    }

    static double PairBoxIou(double[] dt, double[] gt, bool crowd)
    {
        var w = Math.Min(dt[2] + dt[0], gt[2] + gt[0]) - Math.Max(dt[0], gt[0]);
        if (w <= 0) return 0;
        var h = Math.Min(dt[3] + dt[1], gt[3] + gt[1]) - Math.Max(dt[1], gt[1]);
        if (h <= 0) return 0;
        var inter = w * h;
        var dtArea = dt[2] * dt[3];
        var union = crowd ? dtArea : dtArea + gt[2] * gt[3] - inter;
        return inter / union;
    }
}
