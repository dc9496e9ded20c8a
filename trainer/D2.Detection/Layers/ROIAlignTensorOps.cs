using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// ROIAlign built from tensor operations, so it runs wherever the tensors live (the CUDA path). Same sample positions,
/// bilinear rule, out-of-bounds rule and adaptive sampling ratio as <see cref="ROIAlignKernel"/> (torchvision's
/// roi_align): the per-ROI sampling grid ceil(roi size / output size) is reproduced exactly by laying out the largest
/// grid of a level and zeroing the weights of the samples beyond each ROI's own grid. Each bin gathers its samples'
/// corner features with one index_select over (N·H·W, C) rows; autograd turns that into the index_add backward
/// torchvision's CUDA kernel does with atomics. Work is split over ROI chunks to bound the gathered memory.
/// Host syncs: per level, the ROIs of that level (nonzero, as Detectron2's ROIPooler does) and, with the adaptive ratio,
/// the level's largest grid (one scalar, to size the sample layout).
/// </summary>
internal static class ROIAlignTensorOps
{
    // Gathered elements per chunk (float32: 256 MiB), a bound on the transient memory of one pooling call.
    const long ChunkElements = 1L << 26;

    /// <param name="inputs">per level, (N, C, Hl, Wl), float32 or float64</param>
    /// <param name="rois">(R, 5) in the inputs' dtype, no gradient</param>
    /// <param name="levels">(R) integer level per ROI, or null for "all on level 0"; out-of-range levels give zero rows</param>
    public static Tensor Pool(IReadOnlyList<Tensor> inputs, Tensor rois, Tensor? levels, RoiAlignOptions options)
    {
        using var scope = NewDisposeScope();
        var first = inputs[0];
        var roiCount = rois.shape[0];
        var shape = new[] { roiCount, first.shape[1], options.OutputHeight, options.OutputWidth };
        var pieces = new List<Tensor>();
        var rows = new List<Tensor>();
        for (var level = 0; level < inputs.Count; level++)
        {
            var members = levels is null
                ? arange(roiCount, ScalarType.Int64, rois.device)
                : nonzero(levels.eq(level)).view(-1);
            if (members.shape[0] == 0)
                continue;
            CheckBatchIndex(rois.index_select(0, members), inputs[level].shape[0]);
            pieces.Add(PoolLevel(inputs[level], rois.index_select(0, members), options.SpatialScales[level], options));
            rows.Add(members);
        }
        var output = zeros(shape, first.dtype, first.device);
        if (pieces.Count == 0)
            return output.MoveToOuterDisposeScope();
        return output.index_copy(0, cat(rows), cat(pieces)).MoveToOuterDisposeScope();
    }

    // The kernel rejects a batch index outside the batch; here that check costs a sync, so it runs only off the device.
    static void CheckBatchIndex(Tensor rois, long batchSize)
    {
        if (rois.device_type != DeviceType.CPU)
            return;
        var b = rois.select(1, 0);
        var bad = b.isnan().logical_or(b.lt(0)).logical_or(b.trunc().ge(batchSize)).any().item<bool>();
        if (bad)
            throw new ArgumentException($"A ROI has a batch index outside the input's batch of {batchSize}.", "rois");
    }

    static Tensor PoolLevel(Tensor input, Tensor rois, double spatialScale, RoiAlignOptions options)
    {
        var (batch, channels, height, width) = (input.shape[0], input.shape[1], (int)input.shape[2], (int)input.shape[3]);
        int outH = options.OutputHeight, outW = options.OutputWidth;
        var dtype = input.dtype;
        // torchvision converts the scale to the tensor's type before multiplying.
        var scale = tensor(spatialScale, ScalarType.Float64).to(dtype).to(input.device);
        var offset = options.Aligned ? 0.5 : 0.0;
        var startW = rois.select(1, 1).mul(scale).sub(offset);
        var startH = rois.select(1, 2).mul(scale).sub(offset);
        var roiW = rois.select(1, 3).mul(scale).sub(offset).sub(startW);
        var roiH = rois.select(1, 4).mul(scale).sub(offset).sub(startH);
        if (!options.Aligned)
        {
            roiW = roiW.clamp_min(1.0);
            roiH = roiH.clamp_min(1.0);
        }
        var binH = roiH.div(outH);
        var binW = roiW.div(outW);
        Tensor gridH, gridW;
        int maxGridH, maxGridW;
        if (options.SamplingRatio > 0)
        {
            gridH = full_like(roiH, options.SamplingRatio);
            gridW = full_like(roiW, options.SamplingRatio);
            maxGridH = maxGridW = options.SamplingRatio;
        }
        else
        {
            // The kernel saturates ceil(...) to an int and clamps at 0; NaN (saturates to 0) gives no samples.
            gridH = roiH.div(outH).ceil().nan_to_num(0.0, 0.0, 0.0).clamp(0, int.MaxValue);
            gridW = roiW.div(outW).ceil().nan_to_num(0.0, 0.0, 0.0).clamp(0, int.MaxValue);
            // Sync: the sample layout's size is a host number (Detectron2's CUDA kernel loops instead).
            var maxima = stack([gridH.max(), gridW.max()]).to(ScalarType.Int64).cpu();
            maxGridH = (int)maxima[0].item<long>();
            maxGridW = (int)maxima[1].item<long>();
        }
        var count = gridH.mul(gridW).clamp_min(1.0);
        // A bin with no sample in one axis has none at all.
        var empty = gridH.eq(0).logical_or(gridW.eq(0));
        gridH = gridH.masked_fill(empty, 0.0);
        gridW = gridW.masked_fill(empty, 0.0);
        var roiCount = rois.shape[0];
        if (maxGridH == 0 || maxGridW == 0)
            return zeros([roiCount, channels, outH, outW], dtype, input.device);

        var (rowIndex, rowWeight) = Axis(startH, binH, gridH, outH, maxGridH, height);
        var (colIndex, colWeight) = Axis(startW, binW, gridW, outW, maxGridW, width);
        var batchIndex = rois.select(1, 0).trunc().to(ScalarType.Int64);
        // Rows of the flattened map: (N·H·W, C), so one gathered row is one sample corner's feature vector.
        var flat = input.permute(0, 2, 3, 1).reshape(batch * height * width, channels);
        long rowsH = 2L * maxGridH, colsW = 2L * maxGridW;
        var perRoi = outH * rowsH * outW * colsW * channels;
        var chunk = Math.Max(1L, ChunkElements / Math.Max(1L, perRoi));
        var pooled = new List<Tensor>();
        for (long start = 0; start < roiCount; start += chunk)
        {
            var n = Math.Min(chunk, roiCount - start);
            // (n, outH, 2Gh, 1, 1) rows and (n, 1, 1, outW, 2Gw) columns: linear index b·H·W + y·W + x.
            var y = rowIndex.narrow(0, start, n).view(n, outH, rowsH, 1, 1);
            var x = colIndex.narrow(0, start, n).view(n, 1, 1, outW, colsW);
            var b = batchIndex.narrow(0, start, n).view(n, 1, 1, 1, 1);
            var linear = b.mul((long)height * width).add(y.mul(width)).add(x);
            var weight = rowWeight.narrow(0, start, n).view(n, outH, rowsH, 1, 1)
                .mul(colWeight.narrow(0, start, n).view(n, 1, 1, outW, colsW));
            var gathered = flat.index_select(0, linear.reshape(-1)).view(n, outH, rowsH, outW, colsW, channels);
            var sum = gathered.mul(weight.unsqueeze(-1)).sum([2, 4]);
            pooled.Add(sum.div(count.narrow(0, start, n).view(n, 1, 1, 1)).permute(0, 3, 1, 2));
        }
        return pooled.Count == 1 ? pooled[0].contiguous() : cat(pooled);
    }

    /// <summary>
    /// Along one axis: per (ROI, bin), the low and high neighbour of each of the largest grid's samples and their
    /// bilinear weights (zero for samples beyond the ROI's own grid and outside [-1, size]), as (R, bins, 2·maxGrid).
    /// </summary>
    static (Tensor Index, Tensor Weight) Axis(Tensor start, Tensor binSize, Tensor grid, int bins, int maxGrid, int size)
    {
        var dtype = start.dtype;
        var device = start.device;
        var bin = arange(bins, dtype, device).view(1, bins, 1);
        var sample = arange(maxGrid, dtype, device).view(1, 1, maxGrid);
        var s = start.view(-1, 1, 1);
        var bs = binSize.view(-1, 1, 1);
        var g = grid.view(-1, 1, 1);
        // Same expression and evaluation order as torchvision: start + bin·size + (i + 0.5)·size / grid.
        var c = s.add(bin.mul(bs)).add(sample.add(0.5).mul(bs).div(g));
        var inside = sample.lt(g).logical_and(c.ge(-1.0)).logical_and(c.le((double)size));
        c = c.clamp_min(0.0).nan_to_num(0.0, 0.0, 0.0);
        var low = c.floor().clamp_max(size - 1);
        var atEdge = low.ge(size - 1);
        c = where(atEdge, low, c);
        var high = where(atEdge, low, low.add(1.0));
        var frac = c.sub(low);
        var zero = zeros_like(c);
        var lowWeight = where(inside, frac.neg().add(1.0), zero);
        var highWeight = where(inside, frac, zero);
        var index = cat([low, high], 2).to(ScalarType.Int64).mul(inside.repeat(1, 1, 2).to(ScalarType.Int64));
        return (index, cat([lowWeight, highWeight], 2));
    }
}
