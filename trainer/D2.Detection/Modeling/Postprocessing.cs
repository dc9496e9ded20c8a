using D2.Detection.Layers;
using D2.Detection.Structures;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling;

/// <summary>
/// Detectron2's detector_postprocess and paste_masks_in_image: detections of the resized network input mapped back to
/// the requested output resolution, with soft masks pasted into full-size binary masks.
/// </summary>
public static class Postprocessing
{
    // Detectron2's GPU_MEM_LIMIT: a GPU chunk's float32 output stays within 1 GiB.
    const long GpuChunkBytes = 1L << 30;

    /// <summary>
    /// Scales <c>pred_boxes</c> (or <c>proposal_boxes</c>) from <paramref name="results"/>' image size to the output size,
    /// clips them, drops the empty ones with all their fields, pastes <c>pred_masks</c> (N, 1, M, M) into (N, H, W) bool
    /// masks and scales <c>pred_keypoints</c> x/y. Unlike Detectron2, which scales the input's boxes in place, the input is
    /// left untouched: the result holds copies of every field.
    /// </summary>
    /// <param name="results">detections in the network input's coordinates; <see cref="Instances.ImageSize"/> is that input's (unpadded) size</param>
    /// <param name="outputHeight">height of the output resolution (usually the original image's)</param>
    /// <param name="outputWidth">width of the output resolution</param>
    /// <param name="maskThreshold">a pasted mask pixel is on when its probability is &gt;= this</param>
    /// <returns>new Instances of image size (outputHeight, outputWidth)</returns>
    public static Instances DetectorPostprocess(Instances results, int outputHeight, int outputWidth, double maskThreshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentOutOfRangeException.ThrowIfNegative(outputHeight);
        ArgumentOutOfRangeException.ThrowIfNegative(outputWidth);
        if (results.ImageSize.Height <= 0 || results.ImageSize.Width <= 0)
            throw new ArgumentException($"Results need a positive image size to scale from; got {results.ImageSize}.", nameof(results));
        var boxesField = results.Has("pred_boxes") ? "pred_boxes"
            : results.Has("proposal_boxes") ? "proposal_boxes"
            : throw new ArgumentException("Predictions must contain boxes: neither 'pred_boxes' nor 'proposal_boxes' is set.", nameof(results));
        var scaleX = (double)outputWidth / results.ImageSize.Width;
        var scaleY = (double)outputHeight / results.ImageSize.Height;

        using var scope = NewDisposeScope();
        using var boxes = results.Get<Boxes>(boxesField).Clone();
        boxes.Scale(scaleX, scaleY);
        boxes.Clip((outputHeight, outputWidth));

        // Shares the input's fields only until the selection below copies them.
        var resized = new Instances((outputHeight, outputWidth));
        foreach (var name in results.FieldNames)
            resized.Set(name, name == boxesField ? boxes : results.Get(name));
        var output = resized.Index(boxes.Nonempty());

        if (output.Has("pred_masks"))
        {
            var soft = output.Get<Tensor>("pred_masks");
            if (soft.dim() != 4 || soft.shape[1] != 1)
                throw new ArgumentException($"pred_masks must be (N, 1, M, M) soft masks; got shape {Selection.Shape(soft)}.", nameof(results));
            var pasted = PasteMasksInImage(soft[.., 0], output.Get<Boxes>(boxesField), (outputHeight, outputWidth), maskThreshold);
            output.Set("pred_masks", pasted);
            soft.Dispose();
        }
        if (output.Has("pred_keypoints"))
        {
            var keypoints = output.Get<Tensor>("pred_keypoints");
            using Scalar sx = scaleX, sy = scaleY;
            keypoints[.., .., 0].mul_(sx);
            keypoints[.., .., 1].mul_(sy);
        }
        output.MoveToOuterDisposeScope();
        return output;
    }

    /// <summary>
    /// Detectron2's paste_masks_in_image: pixel (x, y) of detection i samples mask i bilinearly (align_corners = false,
    /// zero padding) at u = ((x + 0.5) - x0) / (x1 - x0) * 2 - 1, v likewise, and is on when the sample is &gt;= the
    /// threshold. On the CPU each mask is evaluated only over its box expanded by one pixel (Detectron2's skip_empty); on a
    /// GPU masks are pasted over the whole image in chunks of at most 1 GiB of float32 output, as Detectron2 does. The two
    /// agree for thresholds &gt;= 0.5 (a sample beyond a box edge is below half the edge value); for lower thresholds they
    /// differ just outside large boxes, exactly as Detectron2's CPU and GPU paths do.
    /// </summary>
    /// <param name="masks">(N, M, M) probabilities in [0, 1]</param>
    /// <param name="boxes">N boxes, XYXY in output pixels, with positive width and height</param>
    /// <param name="imageShape">(height, width) of the output masks</param>
    /// <param name="threshold">on when the sampled probability is &gt;= this; must be in [0, 1]</param>
    /// <returns>(N, H, W) bool on the boxes' device</returns>
    public static Tensor PasteMasksInImage(Tensor masks, Boxes boxes, (int Height, int Width) imageShape, double threshold = 0.5)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        var onCpu = !Layers.TensorOpPath.Use(boxes.Tensor);
        var chunkSize = onCpu
            ? 1
            : (int)Math.Max(1, GpuChunkBytes / Math.Max(1L, 4L * imageShape.Height * imageShape.Width));
        return Paste(masks, boxes.Tensor, imageShape, threshold, restrictToBoxes: onCpu, chunkSize);
    }

    /// <summary>The pasting loop with the chunking made explicit, so both of Detectron2's strategies can be run anywhere.</summary>
    /// <param name="restrictToBoxes">evaluate each chunk only over the union of its boxes expanded by one pixel</param>
    /// <param name="chunkSize">masks pasted per grid_sample call</param>
    internal static Tensor Paste(Tensor masks, Tensor boxes, (int Height, int Width) imageShape, double threshold,
        bool restrictToBoxes, int chunkSize)
    {
        ArgumentNullException.ThrowIfNull(masks);
        ArgumentNullException.ThrowIfNull(boxes);
        var (height, width) = imageShape;
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkSize);
        if (threshold is < 0 or > 1 || double.IsNaN(threshold))
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The mask threshold must be in [0, 1].");
        if (masks.dim() != 3 || masks.shape[1] != masks.shape[2])
            throw new ArgumentException($"Masks must be (N, M, M) square soft masks; got shape {Selection.Shape(masks)}.", nameof(masks));
        if (boxes.dim() != 2 || boxes.shape[1] != 4 || boxes.shape[0] != masks.shape[0])
            throw new ArgumentException(
                $"Need one (x0, y0, x1, y1) box per mask: {masks.shape[0]} masks but boxes of shape {Selection.Shape(boxes)}.", nameof(boxes));

        using var scope = NewDisposeScope();
        var device = boxes.device;
        var count = masks.shape[0];
        var pasted = zeros([count, height, width], ScalarType.Bool, device);
        if (count == 0 || height == 0 || width == 0)
            return pasted.MoveToOuterDisposeScope();

        var source = (masks.is_floating_point() ? masks : masks.to(ScalarType.Float32)).to(device);
        var boxes32 = boxes.to(ScalarType.Float32);
        // Read once: the regions are plain arithmetic on the corners, with no device round trip per chunk.
        var corners = restrictToBoxes ? TensorMemory.ToArray<float>(boxes32) : [];
        using var thresholdScalar = threshold.ToScalar();
        for (long start = 0; start < count; start += chunkSize)
        {
            using var chunkScope = NewDisposeScope();
            var n = Math.Min(chunkSize, count - start);
            var chunkBoxes = boxes32.narrow(0, start, n);
            var (x0, y0, x1, y1) = restrictToBoxes
                ? ExpandedRegion(corners.AsSpan((int)(4 * start), (int)(4 * n)), height, width)
                : (0, 0, width, height);
            // A chunk whose boxes lie wholly outside the image has nothing to paste (Detectron2 would fail in arange).
            if (x1 <= x0 || y1 <= y0)
                continue;
            var on = SampleRegion(source.narrow(0, start, n), chunkBoxes, x0, y0, x1, y1).ge(thresholdScalar);
            pasted.narrow(0, start, n).narrow(1, y0, y1 - y0).narrow(2, x0, x1 - x0).copy_(on);
        }
        return pasted.MoveToOuterDisposeScope();
    }

    /// <summary>Detectron2's skip_empty region: the boxes' union widened by one pixel, clamped to the image.</summary>
    /// <param name="corners">x0, y0, x1, y1 of each box of the chunk</param>
    static (int X0, int Y0, int X1, int Y1) ExpandedRegion(ReadOnlySpan<float> corners, int height, int width)
    {
        float left = float.PositiveInfinity, top = float.PositiveInfinity, right = float.NegativeInfinity, bottom = float.NegativeInfinity;
        for (var i = 0; i < corners.Length; i += 4)
        {
            left = Math.Min(left, corners[i]);
            top = Math.Min(top, corners[i + 1]);
            right = Math.Max(right, corners[i + 2]);
            bottom = Math.Max(bottom, corners[i + 3]);
        }
        if (!float.IsFinite(left) || !float.IsFinite(top) || !float.IsFinite(right) || !float.IsFinite(bottom))
            return (0, 0, 0, 0);
        // Clamped on both sides so that far-away boxes give an empty region rather than an int overflow.
        static int Bound(double value, int limit) => (int)Math.Clamp(value, 0, limit);
        return (Bound(Math.Floor(left) - 1, width), Bound(Math.Floor(top) - 1, height),
            Bound(Math.Ceiling(right) + 1, width), Bound(Math.Ceiling(bottom) + 1, height));
    }

    /// <param name="masks">(n, M, M) floating point</param>
    /// <param name="boxes">(n, 4) float32</param>
    /// <returns>(n, y1 - y0, x1 - x0) bilinear samples of each mask over pixels [x0, x1) x [y0, y1)</returns>
    static Tensor SampleRegion(Tensor masks, Tensor boxes, int x0, int y0, int x1, int y1)
    {
        using var scope = NewDisposeScope();
        var device = boxes.device;
        var n = boxes.shape[0];
        var bx0 = boxes[.., 0..1];
        var by0 = boxes[.., 1..2];
        var bx1 = boxes[.., 2..3];
        var by1 = boxes[.., 3..4];
        // Computed in float32 as Detectron2 does, so pixels on a threshold boundary round the same way:
        // (arange + 0.5 - b0) / (b1 - b0) * 2 - 1. The Scalars are held here: one TorchSharp creates on the fly (from 0.5, or
        // add's alpha of 1) can be finalized by the GC while libtorch still reads it, which a server under concurrent load
        // hit on this line (a 500 "Unknown scalar type" about once per few hundred requests).
        using Scalar half = 0.5, one = 1, two = 2, startY = y0, stopY = y1, startX = x0, stopX = x1;
        var gridY = arange(startY, stopY, one, ScalarType.Float32, device).add(half, one).sub(by0).div(by1 - by0).mul(two).sub(one);
        var gridX = arange(startX, stopX, one, ScalarType.Float32, device).add(half, one).sub(bx0).div(bx1 - bx0).mul(two).sub(one);
        long h = y1 - y0, w = x1 - x0;
        var grid = stack([gridX[.., TensorIndex.None, ..].expand(n, h, w), gridY[.., .., TensorIndex.None].expand(n, h, w)], 3);
        var sampled = nn.functional.grid_sample(masks.unsqueeze(1), grid.to(masks.dtype),
            GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);
        return sampled.squeeze(1).MoveToOuterDisposeScope();
    }
}
