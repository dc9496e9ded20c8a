using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// ROIAlign built from tensor operations, so it runs wherever the tensors live (the CUDA path). Same sample positions,
/// bilinear rule, out-of-bounds rule and adaptive sampling ratio as <see cref="ROIAlignKernel"/> (torchvision's
/// roi_align), and the same separable form (see <see cref="ROIAlignPlan{T}"/>): a bin's average is
/// Wy[ph, ·] · F · Wx[pw, ·]ᵀ / count, where Wy and Wx hold each feature row's and column's summed bilinear weight over
/// the bin's samples. Per ROI only its window of the map (the rows and columns its samples touch) enters: the windows
/// are gathered by index_select over (N·H·W, C) rows (one gather for many chunks), then pooled by two batched matmuls,
/// (outH × Kh) · (Kh × Kw·C) and (outW × Kw) · (Kw × C) per output row. Autograd gives the backward: the transposed
/// matmuls and index_add into the map (what torchvision's CUDA kernel does with atomics).
/// ROIs with windows of similar size are pooled together in chunks bounded by <see cref="ChunkElements"/>, so a few
/// large ROIs do not pad every small one to their size.
/// Host syncs: one per call, for the plan (per ROI: level, sample grid, window size, batch-index check); Detectron2's
/// ROIPooler syncs once per level (nonzero) and its CUDA kernel none.
/// </summary>
internal static class ROIAlignTensorOps
{
    // Window elements (ROIs · max(Kh, outH) · Kw · C) per chunk, and per gather: float32, 128 MiB at most.
    const long ChunkElements = 1L << 25;

    /// <param name="inputs">per level, (N, C, Hl, Wl), float32 or float64</param>
    /// <param name="rois">(R, 5) in the inputs' dtype, no gradient</param>
    /// <param name="levels">(R) integer level per ROI, or null for "all on level 0"; out-of-range levels give zero rows</param>
    /// <param name="chunkElements">the budget of one chunk (tests lower it to split chunks)</param>
    public static Tensor Pool(IReadOnlyList<Tensor> inputs, Tensor rois, Tensor? levels, ROIAlignOptions options,
        long chunkElements = ChunkElements)
    {
        using var scope = NewDisposeScope();
        var first = inputs[0];
        var (dtype, device) = (first.dtype, first.device);
        var roiCount = rois.shape[0];
        var channels = first.shape[1];
        var output = zeros([roiCount, channels, options.OutputHeight, options.OutputWidth], dtype, device);
        if (roiCount == 0 || channels == 0)
            return output.MoveToOuterDisposeScope();

        var level = levels is null ? zeros(roiCount, ScalarType.Int64, device) : levels.to(ScalarType.Int64);
        using var levelCount = inputs.Count.ToScalar();
        using var lastLevel = (inputs.Count - 1).ToScalar();
        var known = level.ge(Zero).logical_and(level.lt(levelCount));
        var lookup = level.clamp(Zero, lastLevel);
        // Per-level constants per ROI (host-to-device copies, no sync). torchvision converts the scale to the
        // tensor's type before multiplying.
        var scale = tensor(options.SpatialScales, ScalarType.Float64).to(dtype).to(device).index_select(0, lookup);
        var height = tensor(inputs.Select(i => i.shape[2]).ToArray()).to(device).index_select(0, lookup);
        var width = tensor(inputs.Select(i => i.shape[3]).ToArray()).to(device).index_select(0, lookup);
        var batch = tensor(inputs.Select(i => i.shape[0]).ToArray()).to(device).index_select(0, lookup);
        var offset = options.Aligned ? 0.5 : 0.0;
        var y = Axis.Of(rois.select(1, 2), rois.select(1, 4), scale, offset, height, options.OutputHeight, options);
        var x = Axis.Of(rois.select(1, 1), rois.select(1, 3), scale, offset, width, options.OutputWidth, options);
        var count = y.Grid.mul(x.Grid).clamp_min(OneFloat);
        var b = rois.select(1, 0);
        var badBatch = b.isnan().logical_or(b.lt(Zero)).logical_or(b.trunc().ge(batch)).logical_and(known);
        var batchIndex = b.nan_to_num(0.0, 0.0, 0.0).trunc().to(ScalarType.Int64).clamp(Zero, LongMax);
        // A ROI with no sample in one axis has none at all: a zero row, like one whose level indexes no map.
        var planned = level.masked_fill(known.logical_not().logical_or(y.Grid.eq(Zero)).logical_or(x.Grid.eq(Zero)), MinusOne);

        // The one sync: sizes of the sample grids and windows, which shape the tensors below.
        var plan = TensorMemory.ToArray<long>(
            stack([planned, y.Grid.to(ScalarType.Int64), x.Grid.to(ScalarType.Int64), y.Span, x.Span, badBatch.to(ScalarType.Int64)], 1));
        var chunks = Chunks(plan, roiCount, options, channels, chunkElements, out var order);
        if (chunks.Count == 0)
            return output.MoveToOuterDisposeScope();

        var members = tensor(order).to(device);
        // Everything per ROI that does not depend on the chunk's shapes, once for all planned ROIs in chunk order (on a
        // GPU each op is a kernel launch, so the per-chunk work is kept to the gather and the two matmuls).
        var (outH, outW) = (options.OutputHeight, options.OutputWidth);
        var rowWeights = y.Weights(members, outH, chunks.Max(c => c.GridH), chunks.Max(c => c.SpanH), chunkElements);
        var columnWeights = x.Weights(members, outW, chunks.Max(c => c.GridW), chunks.Max(c => c.SpanW), chunkElements);
        var firstRow = y.First.index_select(0, members);
        var firstColumn = x.First.index_select(0, members);
        var image = batchIndex.index_select(0, members);
        var divisor = count.index_select(0, members);
        var pieces = new List<Tensor>(chunks.Count);
        // Each level's map as rows of feature vectors, made once per call (a copy of the map; reused by every gather batch).
        var featureRows = new Tensor?[inputs.Count];
        foreach (var levelChunks in GatherBatches(chunks, channels, chunkElements))
        {
            var input = inputs[levelChunks[0].Level];
            var (h, w) = (input.shape[2], input.shape[3]);
            using Scalar lastRow = h - 1, lastColumn = w - 1, mapSize = h * w, rowStride = w;
            // One gather for several chunks (backward then adds one full-map gradient per gather, not per chunk),
            // from the map's rows as (N·H·W, C): one gathered row is one feature vector.
            var linear = new List<Tensor>();
            foreach (var chunk in levelChunks)
            {
                var (n, at) = (chunk.Count, chunk.Offset);
                // Window positions past the map (padding to the chunk's largest window) are clamped: their weights are 0.
                var windowRows = firstRow.narrow(0, at, n).view(n, 1).add(Arange(chunk.SpanH, ScalarType.Int64, device), One).clamp_max(lastRow);
                var windowColumns = firstColumn.narrow(0, at, n).view(n, 1).add(Arange(chunk.SpanW, ScalarType.Int64, device), One).clamp_max(lastColumn);
                linear.Add(image.narrow(0, at, n).mul(mapSize).view(n, 1, 1)
                    .add(windowRows.mul(rowStride).view(n, chunk.SpanH, 1), One).add(windowColumns.view(n, 1, chunk.SpanW), One).view(-1));
            }
            var rows = featureRows[levelChunks[0].Level] ??= input.permute(0, 2, 3, 1).reshape(-1, channels);
            var windows = rows.index_select(0, linear.Count == 1 ? linear[0] : cat(linear));
            // split, not narrow: narrow's backward makes a zero gradient of the whole gather per chunk; split's is one cat.
            var parts = levelChunks.Count == 1 ? [windows] : windows.split([.. levelChunks.Select(c => (long)c.Count * c.SpanH * c.SpanW)]);
            foreach (var (chunk, part) in levelChunks.Zip(parts))
            {
                var (n, at) = (chunk.Count, chunk.Offset);
                var window = part.view(n, chunk.SpanH, chunk.SpanW * channels);
                // Rows first, as the kernel: (n, outH, Kw·C), then columns: (n, outH, outW, C).
                var byRow = rowWeights.narrow(0, at, n).narrow(2, 0, chunk.SpanH).bmm(window).view(n, outH, chunk.SpanW, channels);
                var pooled = columnWeights.narrow(0, at, n).narrow(2, 0, chunk.SpanW).unsqueeze(1).matmul(byRow);
                pieces.Add(pooled.div(divisor.narrow(0, at, n).view(n, 1, 1, 1)).permute(0, 3, 1, 2));
            }
        }
        return output.index_copy(0, members, cat(pieces)).MoveToOuterDisposeScope();
    }

    /// <summary>One batch of ROIs of one level pooled together: order[Offset .. Offset + Count) and their largest sizes.</summary>
    readonly record struct Chunk(int Level, int Offset, int Count, int GridH, int GridW, int SpanH, int SpanW);

    /// <summary>
    /// Groups the planned ROIs by level and window size (sizes rounded up to powers of 2, so a chunk pads its windows
    /// at most 2x per axis) and splits the groups to the element budget.
    /// </summary>
    /// <param name="plan">per ROI: level (-1: a zero row), grid y, grid x, window rows, window columns, bad batch index</param>
    static List<Chunk> Chunks(long[] plan, long roiCount, ROIAlignOptions options, long channels, long budget, out long[] order)
    {
        const int Fields = 6;
        var groups = new SortedDictionary<(int Level, int Rows, int Columns), List<int>>();
        for (var r = 0; r < roiCount; r++)
        {
            var row = plan.AsSpan(r * Fields, Fields);
            if (row[0] < 0)
                continue;
            if (row[5] != 0)
                throw new ArgumentException($"ROI {r} has a batch index outside the input's batch.", "rois");
            var key = ((int)row[0], Bucket(row[3]), Bucket(row[4]));
            if (!groups.TryGetValue(key, out var list))
                groups[key] = list = [];
            list.Add(r);
        }
        var chunks = new List<Chunk>();
        var sequence = new List<long>();
        foreach (var ((level, _, _), list) in groups)
        {
            int start = 0, gridH = 0, gridW = 0, spanH = 0, spanW = 0;
            for (var i = 0; i <= list.Count; i++)
            {
                if (i < list.Count)
                {
                    var row = plan.AsSpan(list[i] * Fields, Fields);
                    int gh = Math.Max(gridH, (int)row[1]), gw = Math.Max(gridW, (int)row[2]);
                    int sh = Math.Max(spanH, (int)row[3]), sw = Math.Max(spanW, (int)row[4]);
                    var elements = (i - start + 1L) * Math.Max(sh, options.OutputHeight) * sw * channels;
                    if (elements <= budget || i == start)
                    {
                        (gridH, gridW, spanH, spanW) = (gh, gw, sh, sw);
                        continue;
                    }
                }
                chunks.Add(new Chunk(level, sequence.Count, i - start, gridH, gridW, spanH, spanW));
                for (var k = start; k < i; k++)
                    sequence.Add(list[k]);
                if (i < list.Count)
                {
                    var row = plan.AsSpan(list[i] * Fields, Fields);
                    (start, gridH, gridW, spanH, spanW) = (i, (int)row[1], (int)row[2], (int)row[3], (int)row[4]);
                }
            }
        }
        order = [.. sequence];
        return chunks;
    }

    /// <summary>Consecutive chunks of one level whose windows together stay within the budget (or one chunk), gathered at once.</summary>
    static IEnumerable<List<Chunk>> GatherBatches(List<Chunk> chunks, long channels, long budget)
    {
        var batch = new List<Chunk>();
        long elements = 0;
        foreach (var chunk in chunks)
        {
            var size = (long)chunk.Count * chunk.SpanH * chunk.SpanW * channels;
            if (batch.Count > 0 && (batch[0].Level != chunk.Level || elements + size > budget))
            {
                yield return batch;
                (batch, elements) = ([], 0);
            }
            batch.Add(chunk);
            elements += size;
        }
        if (batch.Count > 0)
            yield return batch;
    }

    /// <summary>ceil(log2(size)): sizes within a factor 2 share a bucket (fewer chunks, fewer kernel launches on a GPU).</summary>
    static int Bucket(long size) => size <= 1 ? 0 : (int)Math.Ceiling(Math.Log2(size));

    /// <summary>
    /// One axis of every ROI: where its samples start, the bin size, the samples per bin (Grid, in the dtype), and the
    /// window of map indices the samples touch (First, Span; int64).
    /// </summary>
    sealed record Axis(Tensor Start, Tensor BinSize, Tensor Grid, Tensor Size, Tensor First, Tensor Span)
    {
        public static Axis Of(Tensor low, Tensor high, Tensor scale, double offset, Tensor size, int bins, ROIAlignOptions options)
        {
            using Scalar offsetScalar = offset, binCount = bins, lastBin = bins - 1, samplingRatio = options.SamplingRatio;
            var start = low.mul(scale).sub(offsetScalar);
            var length = high.mul(scale).sub(offsetScalar).sub(start);
            // Legacy (not aligned): malformed ROIs are forced to 1x1.
            if (!options.Aligned)
                length = length.clamp_min(OneFloat);
            var binSize = length.div(binCount);
            // The kernel saturates ceil(...) to an int and clamps at 0; NaN (saturates to 0) gives no samples.
            var grid = options.SamplingRatio > 0
                ? full_like(length, samplingRatio)
                : length.div(binCount).ceil().nan_to_num(0.0, 0.0, 0.0).clamp(Zero, IntMax);
            // Sample coordinates are monotone in (bin, sample) (IEEE rounding is monotone), so the first and last
            // samples bound all of them; their clamped neighbours bound the rows (columns) the samples read.
            var firstSample = Coordinate(start, binSize, grid, zeros_like(start), zeros_like(start));
            var lastSample = Coordinate(start, binSize, grid, full_like(start, lastBin), grid.sub(OneFloat));
            var limit = size.sub(One).to(start.dtype);
            var lowest = minimum(firstSample, lastSample).clamp_min(ZeroFloat).nan_to_num(0.0, 0.0, 0.0).floor().minimum(limit);
            var highest = maximum(firstSample, lastSample).clamp_min(ZeroFloat).nan_to_num(0.0, 0.0, 0.0).floor().add(OneFloat, One).minimum(limit);
            var first = lowest.to(ScalarType.Int64);
            var span = highest.to(ScalarType.Int64).sub(first).add(One, One).clamp_min(One);
            return new Axis(start, binSize, grid, size, first, span);
        }

        /// <summary>torchvision's sample coordinate, same expression and evaluation order: start + bin·size + (i + 0.5)·size / grid.</summary>
        static Tensor Coordinate(Tensor start, Tensor binSize, Tensor grid, Tensor bin, Tensor sample) =>
            start.add(bin.mul(binSize), One).add(sample.add(HalfFloat, One).mul(binSize).div(grid), One);

        /// <summary>
        /// (n, bins, window) summed bilinear weights of each bin's samples on each index of the ROI's window: the
        /// kernel's <see cref="ROIAlignPlan{T}"/> bands laid out densely. Samples beyond a ROI's own grid and outside
        /// [-1, size] weigh 0 (torchvision's rule: counted in the average, contributing nothing). Computed in slices
        /// of ROIs so that a huge sample grid stays within <paramref name="budget"/> elements.
        /// </summary>
        public Tensor Weights(Tensor rows, int bins, int maxGrid, int window, long budget)
        {
            var n = rows.shape[0];
            var slice = Math.Max(1L, budget / (16L * bins * Math.Max(2L * maxGrid, window)));
            if (slice >= n)
                return SliceWeights(rows, bins, maxGrid, window);
            var parts = new List<Tensor>();
            for (long start = 0; start < n; start += slice)
                parts.Add(SliceWeights(rows.narrow(0, start, Math.Min(slice, n - start)), bins, maxGrid, window));
            return cat(parts);
        }

        Tensor SliceWeights(Tensor rows, int bins, int maxGrid, int window)
        {
            var n = rows.shape[0];
            var (dtype, device) = (Start.dtype, Start.device);
            var grid = Grid.index_select(0, rows).view(n, 1, 1);
            var size = Size.index_select(0, rows).to(dtype).view(n, 1, 1);
            var last = size.sub(OneFloat);
            var sample = Arange(maxGrid, dtype, device).view(1, 1, maxGrid);
            var c = Coordinate(Start.index_select(0, rows).view(n, 1, 1), BinSize.index_select(0, rows).view(n, 1, 1), grid,
                Arange(bins, dtype, device).view(1, bins, 1), sample);
            var inside = sample.lt(grid).logical_and(c.ge(MinusOneFloat)).logical_and(c.le(size));
            c = c.clamp_min(ZeroFloat).nan_to_num(0.0, 0.0, 0.0);
            var low = c.floor().minimum(last);
            var atEdge = low.ge(last);
            c = where(atEdge, low, c);
            var high = where(atEdge, low, low.add(OneFloat, One));
            var frac = c.sub(low);
            var zero = zeros_like(c);
            // Interleaved (low, high) per sample: the kernel's order of accumulation.
            var weight = stack([where(inside, frac.neg().add(OneFloat, One), zero), where(inside, frac, zero)], 3).view(n, bins, 2 * maxGrid);
            using var lastIndex = (window - 1).ToScalar();
            var index = stack([low, high], 3).to(ScalarType.Int64).sub(First.index_select(0, rows).view(n, 1, 1, 1))
                .clamp(Zero, lastIndex).view(n, bins, 2 * maxGrid);
            return zeros([n, bins, window], dtype, device).scatter_add_(2, index, weight);
        }
    }
}
