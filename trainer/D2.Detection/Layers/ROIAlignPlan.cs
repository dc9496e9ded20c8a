using System.Numerics;

namespace D2.Detection.Layers;

/// <summary>
/// Where each ROI bin samples the feature map, precomputed once per call and shared by every channel (torchvision
/// precomputes per sample for the same reason). torchvision's bilinear weight of a sample is a product of a y factor
/// and an x factor, and its out-of-bounds rule (a sample outside [-1, H] x [-1, W] contributes 0 but is counted)
/// zeroes one of the two factors, so the average over a bin's sample grid factorises: bin(ph, pw) =
/// sum over rows a, columns b of Wy[ph, a] * Wx[pw, b] * F[a, b] / count, with Wy[ph, a] the summed y weight of row a
/// over the bin's sample rows. Each Wy[ph, ·] and Wx[pw, ·] is a short band of consecutive indices, stored here.
/// </summary>
internal sealed class ROIAlignPlan<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public required int ROICount { get; init; }
    public required int OutputHeight { get; init; }
    public required int OutputWidth { get; init; }
    /// <summary>Per ROI: its row in the pooled output (ROIs of one plan are a subset of the call's ROIs).</summary>
    public required int[] OutputIndex { get; init; }
    /// <summary>Per ROI: its image in the batch.</summary>
    public required int[] BatchIndex { get; init; }
    /// <summary>Per ROI: the number of samples per bin (at least 1), the divisor of the average.</summary>
    public required T[] Count { get; init; }
    /// <summary>Per (ROI, output row): the y band.</summary>
    public required Band[] Rows { get; init; }
    /// <summary>Per (ROI, output column): the x band.</summary>
    public required Band[] Columns { get; init; }
    /// <summary>Per ROI: the smallest column of any of its x bands and the width of their union (0 when empty).</summary>
    public required int[] ColumnStart { get; init; }
    public required int[] ColumnSpan { get; init; }
    public required T[] RowWeights { get; init; }
    public required T[] ColumnWeights { get; init; }
    /// <summary>
    /// The order to visit ROIs in: by image, then top to bottom by their first sampled row, so that consecutive ROIs
    /// read nearby parts of a channel's feature plane.
    /// </summary>
    public required int[] Order { get; init; }
    /// <summary>
    /// Per image: whether its ROIs read enough of a feature plane (a quarter of it, counting overlaps) that streaming
    /// the whole plane into cache first is cheaper than fetching their row segments from memory one by one.
    /// </summary>
    public required bool[] WarmPlane { get; init; }
    /// <summary>The widest <see cref="ColumnSpan"/>, the size of a per-thread row buffer.</summary>
    public required int MaxColumnSpan { get; init; }

    /// <summary>Consecutive feature indices Start .. Start + Length - 1 with weights at Offset .. in a weight pool.</summary>
    public readonly record struct Band(int Start, int Length, int Offset);

    /// <param name="rois">(R, 5) row-major: batch index, x0, y0, x1, y1</param>
    /// <param name="members">the rows of <paramref name="rois"/> this plan pools (from a feature map of the given size)</param>
    /// <param name="spatialScale">feature-map pixels per input pixel for this map</param>
    public static ROIAlignPlan<T> Build(ReadOnlySpan<T> rois, int[] members, int batchSize, int height, int width,
        double spatialScale, ROIAlignOptions options)
    {
        var roiCount = members.Length;
        int outH = options.OutputHeight, outW = options.OutputWidth;
        var batch = new int[roiCount];
        var count = new T[roiCount];
        var rows = new Band[roiCount * outH];
        var columns = new Band[roiCount * outW];
        var columnStart = new int[roiCount];
        var columnSpan = new int[roiCount];
        var rowWeights = new List<T>();
        var columnWeights = new List<T>();
        var maxSpan = 0;

        // torchvision converts the scale to the tensor's type before multiplying.
        var scale = T.CreateTruncating(spatialScale);
        var offset = options.Aligned ? T.CreateTruncating(0.5) : T.Zero;
        for (var r = 0; r < roiCount; r++)
        {
            var roi = rois.Slice(members[r] * 5, 5);
            // The batch index is truncated to an integer, as torchvision does.
            var b = int.CreateSaturating(roi[0]);
            if (T.IsNaN(roi[0]) || b < 0 || b >= batchSize)
                throw new ArgumentException($"ROI {members[r]} has batch index {roi[0]}, outside the input's batch of {batchSize}.", "rois");
            batch[r] = b;

            var startW = roi[1] * scale - offset;
            var startH = roi[2] * scale - offset;
            var roiW = roi[3] * scale - offset - startW;
            var roiH = roi[4] * scale - offset - startH;
            if (!options.Aligned)
            {
                // Legacy behaviour: malformed ROIs are forced to 1x1.
                roiW = T.Max(roiW, T.One);
                roiH = T.Max(roiH, T.One);
            }
            var binH = roiH / T.CreateTruncating(outH);
            var binW = roiW / T.CreateTruncating(outW);
            var gridH = options.SamplingRatio > 0 ? options.SamplingRatio : int.CreateSaturating(T.Ceiling(roiH / T.CreateTruncating(outH)));
            var gridW = options.SamplingRatio > 0 ? options.SamplingRatio : int.CreateSaturating(T.Ceiling(roiW / T.CreateTruncating(outW)));
            gridH = Math.Max(gridH, 0);
            gridW = Math.Max(gridW, 0);
            count[r] = T.CreateTruncating(Math.Max((long)gridH * gridW, 1L));
            // A bin with no sample in one axis has none at all.
            if (gridH == 0 || gridW == 0)
                gridH = gridW = 0;

            for (var ph = 0; ph < outH; ph++)
                rows[r * outH + ph] = AddBand(rowWeights, startH, binH, ph, gridH, height);
            int lo = int.MaxValue, hi = int.MinValue;
            for (var pw = 0; pw < outW; pw++)
            {
                var band = AddBand(columnWeights, startW, binW, pw, gridW, width);
                columns[r * outW + pw] = band;
                if (band.Length > 0)
                {
                    lo = Math.Min(lo, band.Start);
                    hi = Math.Max(hi, band.Start + band.Length);
                }
            }
            columnStart[r] = lo == int.MaxValue ? 0 : lo;
            columnSpan[r] = lo == int.MaxValue ? 0 : hi - lo;
            maxSpan = Math.Max(maxSpan, columnSpan[r]);
        }

        var order = new int[roiCount];
        var orderKey = new long[roiCount];
        for (var r = 0; r < roiCount; r++)
        {
            order[r] = r;
            var firstRow = outH > 0 ? rows[r * outH].Start : 0;
            orderKey[r] = ((long)batch[r] << 40) | ((long)firstRow << 20) | (uint)columnStart[r];
        }
        Array.Sort(orderKey, order);

        var reads = new long[batchSize];
        for (var r = 0; r < roiCount; r++)
            for (var ph = 0; ph < outH; ph++)
                reads[batch[r]] += (long)rows[r * outH + ph].Length * columnSpan[r];
        var warm = reads.Select(n => n * 4 >= (long)height * width).ToArray();

        return new ROIAlignPlan<T>
        {
            ROICount = roiCount,
            OutputHeight = outH,
            OutputWidth = outW,
            OutputIndex = members,
            BatchIndex = batch,
            Count = count,
            Rows = rows,
            Columns = columns,
            ColumnStart = columnStart,
            ColumnSpan = columnSpan,
            RowWeights = [.. rowWeights],
            ColumnWeights = [.. columnWeights],
            Order = order,
            WarmPlane = warm,
            MaxColumnSpan = maxSpan,
        };
    }

    /// <summary>The summed bilinear weights of one bin's samples along one axis of a map of <paramref name="size"/>.</summary>
    static Band AddBand(List<T> pool, T start, T binSize, int bin, int grid, int size)
    {
        Span<int> low = grid <= 64 ? stackalloc int[grid] : new int[grid];
        Span<int> high = grid <= 64 ? stackalloc int[grid] : new int[grid];
        Span<T> lowWeight = grid <= 64 ? stackalloc T[grid] : new T[grid];
        Span<T> highWeight = grid <= 64 ? stackalloc T[grid] : new T[grid];
        int first = int.MaxValue, last = int.MinValue;
        var gridT = T.CreateTruncating(grid);
        var half = T.CreateTruncating(0.5);
        var limit = T.CreateTruncating(size);
        for (var i = 0; i < grid; i++)
        {
            // Same expression and evaluation order as torchvision, so sample positions match it bit for bit.
            var c = start + T.CreateTruncating(bin) * binSize + (T.CreateTruncating(i) + half) * binSize / gridT;
            // Written as "not inside" so that NaN coordinates contribute nothing, as in torchvision.
            if (!(c >= -T.One && c <= limit))
            {
                low[i] = -1;
                continue;
            }
            if (c <= T.Zero)
                c = T.Zero;
            var l = int.CreateTruncating(c);
            int h;
            if (l >= size - 1)
            {
                l = h = size - 1;
                c = T.CreateTruncating(l);
            }
            else
            {
                h = l + 1;
            }
            var frac = c - T.CreateTruncating(l);
            low[i] = l;
            high[i] = h;
            lowWeight[i] = T.One - frac;
            highWeight[i] = frac;
            first = Math.Min(first, l);
            last = Math.Max(last, h);
        }
        if (first == int.MaxValue)
            return new Band(0, 0, pool.Count);

        var offset = pool.Count;
        var length = last - first + 1;
        for (var k = 0; k < length; k++)
            pool.Add(T.Zero);
        var weights = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pool).Slice(offset, length);
        for (var i = 0; i < grid; i++)
        {
            if (low[i] < 0)
                continue;
            weights[low[i] - first] += lowWeight[i];
            weights[high[i] - first] += highWeight[i];
        }
        return new Band(first, length, offset);
    }
}
