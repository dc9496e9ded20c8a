using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// The ROIAlign forward and backward passes in managed code over the tensors' CPU memory (float32 or float64).
/// Work is split over channels: every channel reads one feature plane per image and, in backward, writes only its own
/// gradient planes, so threads never write the same element.
/// </summary>
internal static class ROIAlignKernel
{
    // Below this many output elements the thread hand-off costs more than it saves.
    const long ParallelThreshold = 1 << 15;

    /// <param name="inputs">per level, (N, C, Hl, Wl), float32 or float64, one device</param>
    /// <param name="rois">(R, 5) of the same dtype</param>
    /// <param name="levels">per ROI, the level it is pooled from; -1 for none (a zero row)</param>
    /// <returns>(R, C, output height, output width) on the inputs' device</returns>
    public static Tensor Forward(IReadOnlyList<Tensor> inputs, Tensor rois, int[] levels, ROIAlignOptions options)
    {
        using var scope = NewDisposeScope();
        var maps = inputs.Select(i => i.cpu().contiguous()).ToArray();
        var boxes = rois.cpu().to(maps[0].dtype).contiguous();
        // The kernel writes every row of a pooled ROI, so only unpooled ROIs need the output zeroed.
        var shape = new[] { boxes.shape[0], maps[0].shape[1], options.OutputHeight, options.OutputWidth };
        var output = levels.Contains(-1) ? zeros(shape, maps[0].dtype) : empty(shape, maps[0].dtype);
        if (output.numel() > 0)
        {
            var members = Members(levels, maps.Length);
            if (output.dtype == ScalarType.Float64)
                Forward<double>(maps, boxes, members, output, options);
            else
                Forward<float>(maps, boxes, members, output, options);
        }
        return output.to(inputs[0].device).MoveToOuterDisposeScope();
    }

    /// <param name="gradOutput">(R, C, output height, output width)</param>
    /// <param name="rois">(R, 5)</param>
    /// <param name="levels">per ROI, the level it was pooled from</param>
    /// <param name="inputShapes">per level, (N, C, Hl, Wl) of the forward inputs</param>
    /// <returns>per level, d loss / d input on the gradient's device</returns>
    public static Tensor[] Backward(Tensor gradOutput, Tensor rois, int[] levels, IReadOnlyList<long[]> inputShapes, ROIAlignOptions options)
    {
        using var scope = NewDisposeScope();
        var g = gradOutput.cpu().contiguous();
        var boxes = rois.cpu().to(g.dtype).contiguous();
        // Left uninitialised: the kernel clears each plane just before adding to it, while it is in cache anyway.
        var gradInputs = inputShapes.Select(shape => empty(shape, g.dtype)).ToArray();
        var members = Members(levels, gradInputs.Length);
        if (g.dtype == ScalarType.Float64)
            Backward<double>(g, boxes, members, gradInputs, options);
        else
            Backward<float>(g, boxes, members, gradInputs, options);
        return [.. gradInputs.Select(t => t.to(gradOutput.device).MoveToOuterDisposeScope())];
    }

    /// <summary>The ROIs of each level, in ROI order.</summary>
    static int[][] Members(int[] levels, int levelCount)
    {
        var lists = Enumerable.Range(0, levelCount).Select(_ => new List<int>()).ToArray();
        for (var r = 0; r < levels.Length; r++)
            if (levels[r] >= 0)
                lists[levels[r]].Add(r);
        return [.. lists.Select(l => l.ToArray())];
    }

    static void Forward<T>(Tensor[] inputs, Tensor rois, int[][] members, Tensor output, ROIAlignOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dims = inputs.Select(Dimensions).ToArray();
        var channels = dims[0].Channels;
        var plans = Plans<T>(rois, members, dims, options);
        ForEachChannelBlock<T>(channels, output.numel(), plans.Max(p => p.MaxColumnSpan), (from, to, rowBuffer) =>
        {
            var pooled = TensorMemory.Span<T>(output);
            for (var level = 0; level < plans.Length; level++)
            {
                if (plans[level].ROICount == 0)
                    continue;
                ReadOnlySpan<T> features = TensorMemory.Span<T>(inputs[level]);
                for (var channel = from; channel < to; channel++)
                    ForwardChannel(plans[level], features, pooled, channel, channels, dims[level].Height, dims[level].Width, rowBuffer);
            }
        });
    }

    static void Backward<T>(Tensor gradOutput, Tensor rois, int[][] members, Tensor[] gradInputs, ROIAlignOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var dims = gradInputs.Select(Dimensions).ToArray();
        var channels = dims[0].Channels;
        var plans = Plans<T>(rois, members, dims, options);
        var work = Math.Max(gradOutput.numel(), gradInputs.Sum(g => g.numel()) / 16);
        ForEachChannelBlock<T>(channels, work, plans.Max(p => p.MaxColumnSpan), (from, to, rowBuffer) =>
        {
            ReadOnlySpan<T> upstream = TensorMemory.Span<T>(gradOutput);
            for (var level = 0; level < plans.Length; level++)
            {
                var gradient = TensorMemory.Span<T>(gradInputs[level]);
                var (batch, _, height, width) = dims[level];
                for (var channel = from; channel < to; channel++)
                {
                    for (var n = 0; n < batch; n++)
                        gradient.Slice((n * channels + channel) * height * width, height * width).Clear();
                    BackwardChannel(plans[level], upstream, gradient, channel, channels, height, width, rowBuffer);
                }
            }
        });
    }

    static ROIAlignPlan<T>[] Plans<T>(Tensor rois, int[][] members, (int Batch, int Channels, int Height, int Width)[] dims,
        ROIAlignOptions options) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ReadOnlySpan<T> boxes = TensorMemory.Span<T>(rois);
        var plans = new ROIAlignPlan<T>[members.Length];
        for (var level = 0; level < plans.Length; level++)
            plans[level] = ROIAlignPlan<T>.Build(boxes, members[level], dims[level].Batch, dims[level].Height, dims[level].Width,
                options.SpatialScales[level], options);
        return plans;
    }

    /// <summary>Pools one channel of every ROI.</summary>
    static void ForwardChannel<T>(ROIAlignPlan<T> plan, ReadOnlySpan<T> features, Span<T> pooled, int channel, int channels,
        int height, int width, T[] rowBuffer) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int outH = plan.OutputHeight, outW = plan.OutputWidth, bins = outH * outW, planeSize = height * width;
        var rowBands = plan.Rows;
        var columnBands = plan.Columns;
        var rowWeights = plan.RowWeights;
        var columnWeights = plan.ColumnWeights;
        ref var rowSum = ref MemoryMarshal.GetArrayDataReference(rowBuffer);
        var warmed = -1;
        var warmth = T.Zero;
        foreach (var r in plan.Order)
        {
            var planeStart = (plan.BatchIndex[r] * channels + channel) * planeSize;
            if (plan.BatchIndex[r] != warmed && plan.WarmPlane[plan.BatchIndex[r]])
            {
                warmed = plan.BatchIndex[r];
                warmth += Warm(features.Slice(planeStart, planeSize));
            }
            var line = pooled.Slice((plan.OutputIndex[r] * channels + channel) * bins, bins);
            int columnStart = plan.ColumnStart[r], span = plan.ColumnSpan[r];
            var padded = RoundUp(span);
            var count = plan.Count[r];
            for (var ph = 0; ph < outH; ph++)
            {
                var rows = rowBands[r * outH + ph];
                if (rows.Length == 0 || span == 0)
                {
                    line.Slice(ph * outW, outW).Clear();
                    continue;
                }
                // Weighted sum of the band's rows over every column any bin of this ROI reads...
                rowBuffer.AsSpan(0, padded).Clear();
                for (var k = 0; k < rows.Length; k++)
                {
                    var at = planeStart + (rows.Start + k) * width + columnStart;
                    // Whole vectors past the span read the next elements of the tensor into unused buffer lanes.
                    var length = at + padded <= features.Length ? padded : span;
                    Axpy(ref rowSum, rowWeights[rows.Offset + k], ref Unsafe.AsRef(in features[at]), length);
                }
                // ...then each bin's x band over it.
                for (var pw = 0; pw < outW; pw++)
                {
                    var columns = columnBands[r * outW + pw];
                    ref var weight = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(columnWeights), columns.Offset);
                    ref var value = ref Unsafe.Add(ref rowSum, columns.Start - columnStart);
                    var sum = T.Zero;
                    for (var k = 0; k < columns.Length; k++)
                        sum += Unsafe.Add(ref weight, k) * Unsafe.Add(ref value, k);
                    line[ph * outW + pw] = sum / count;
                }
            }
        }
        // Keeps the warming reads from being optimised away; the buffer is cleared before every use.
        rowBuffer[0] = warmth;
    }

    /// <summary>Adds one channel of every ROI's upstream gradient to the input gradient: the adjoint of forward.</summary>
    static void BackwardChannel<T>(ROIAlignPlan<T> plan, ReadOnlySpan<T> upstream, Span<T> gradient, int channel, int channels,
        int height, int width, T[] rowBuffer) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int outH = plan.OutputHeight, outW = plan.OutputWidth, bins = outH * outW, planeSize = height * width;
        var rowBands = plan.Rows;
        var columnBands = plan.Columns;
        var rowWeights = plan.RowWeights;
        var columnWeights = plan.ColumnWeights;
        ref var rowGrad = ref MemoryMarshal.GetArrayDataReference(rowBuffer);
        foreach (var r in plan.Order)
        {
            var planeStart = (plan.BatchIndex[r] * channels + channel) * planeSize;
            var bin = upstream.Slice((plan.OutputIndex[r] * channels + channel) * bins, bins);
            int columnStart = plan.ColumnStart[r], span = plan.ColumnSpan[r];
            var padded = RoundUp(span);
            var count = plan.Count[r];
            for (var ph = 0; ph < outH; ph++)
            {
                var rows = rowBands[r * outH + ph];
                if (rows.Length == 0 || span == 0)
                    continue;
                // Spread each bin's gradient over its x band...
                rowBuffer.AsSpan(0, padded).Clear();
                var any = false;
                for (var pw = 0; pw < outW; pw++)
                {
                    var g = bin[ph * outW + pw] / count;
                    if (g == T.Zero)
                        continue;
                    any = true;
                    var columns = columnBands[r * outW + pw];
                    ref var slot = ref Unsafe.Add(ref rowGrad, columns.Start - columnStart);
                    for (var k = 0; k < columns.Length; k++)
                        Unsafe.Add(ref slot, k) += columnWeights[columns.Offset + k] * g;
                }
                if (!any)
                    continue;
                // ...then add it to every row of the y band. Lanes past the span add zeros; they stay inside this
                // channel's plane, which no other thread writes.
                for (var k = 0; k < rows.Length; k++)
                {
                    var at = planeStart + (rows.Start + k) * width + columnStart;
                    var length = at + padded <= planeStart + planeSize ? padded : span;
                    Axpy(ref gradient[at], rowWeights[rows.Offset + k], ref rowGrad, length);
                }
            }
        }
    }

    /// <summary>
    /// Reads one element per cache line of a feature plane, front to back. The ROIs then read (or update) short row
    /// segments all over the plane; streamed into cache first, those hit cache instead of waiting on memory one
    /// segment at a time, which more than pays for the extra pass. The sum only keeps the reads from being dropped.
    /// </summary>
    static T Warm<T>(ReadOnlySpan<T> plane) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var step = Math.Max(1, 64 / Unsafe.SizeOf<T>());
        var sum = T.Zero;
        for (var i = 0; i < plane.Length; i += step)
            sum += plane[i];
        return sum;
    }

    static (int Batch, int Channels, int Height, int Width) Dimensions(Tensor nchw)
    {
        var s = nchw.shape;
        if (s[2] <= 0 || s[3] <= 0)
            throw new ArgumentException($"ROIAlign needs a feature map with positive height and width; got shape [{string.Join(", ", s)}].", "input");
        return ((int)s[0], (int)s[1], (int)s[2], (int)s[3]);
    }

    static void ForEachChannelBlock<T>(int channels, long work, int bufferLength, Action<int, int, T[]> body)
    {
        // Room for the whole vectors that Axpy runs past the span; never empty, since the forward pass parks its warming
        // reads in element 0 even when every ROI of the call is empty (all degenerate boxes).
        bufferLength = RoundUp(Math.Max(bufferLength, 1));
        var threads = Math.Min(Environment.ProcessorCount, channels);
        if (threads <= 1 || work < ParallelThreshold)
        {
            body(0, channels, new T[bufferLength]);
            return;
        }
        // Contiguous channel blocks, a few per thread so that uneven blocks still balance.
        var blocks = Math.Min(channels, threads * 4);
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads }, block =>
            body((int)((long)channels * block / blocks), (int)((long)channels * (block + 1) / blocks), new T[bufferLength]));
    }

    static int RoundUp(int length) => (length + Vector<float>.Count - 1) / Vector<float>.Count * Vector<float>.Count;

    /// <summary>y[0..n) += a * x[0..n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Axpy<T>(ref T y, T a, ref T x, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<T>(a);
            for (; i <= n - Vector<T>.Count; i += Vector<T>.Count)
                (Vector.LoadUnsafe(ref y, (nuint)i) + va * Vector.LoadUnsafe(ref x, (nuint)i)).StoreUnsafe(ref y, (nuint)i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref y, i) += a * Unsafe.Add(ref x, i);
    }
}
