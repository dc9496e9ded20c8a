using D2.Detection.Layers;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Data.Transforms;

/// <summary>
/// Detectron2's (fvcore's) <c>Transform</c>: one deterministic geometric operation, its parameters already drawn, that
/// applies the same way to the image, its boxes, polygons and masks, so that annotations stay on the pixels they mark.
/// Coordinates use Detectron2's pixel-edge convention: the image spans [0, W] x [0, H].
/// </summary>
public abstract class Transform
{
    /// <summary>The transformed 8-bit HWC image (a new buffer; the input is not changed).</summary>
    public abstract ImageBuffer ApplyImage(ImageBuffer image);

    /// <summary>Transforms x, y pairs in place.</summary>
    /// <param name="xy">x0, y0, x1, y1, ... in image coordinates</param>
    public abstract void ApplyCoords(Span<double> xy);

    /// <summary>A label map or binary mask (HWC bytes, usually one channel); resizing uses nearest, as Detectron2 does.</summary>
    public virtual ImageBuffer ApplySegmentation(ImageBuffer segmentation) => ApplyImage(segmentation);

    /// <summary>
    /// An XYXY box: its four corners are transformed and the result is their bounding box (fvcore's <c>apply_box</c>);
    /// not clipped here, the mapper clips to the image after all transforms.
    /// </summary>
    public virtual double[] ApplyBox(ReadOnlySpan<double> xyxy)
    {
        if (xyxy.Length != 4) throw new ArgumentException($"A box needs x0, y0, x1, y1; got {xyxy.Length} numbers.", nameof(xyxy));
        Span<double> corners = [xyxy[0], xyxy[1], xyxy[2], xyxy[1], xyxy[0], xyxy[3], xyxy[2], xyxy[3]];
        ApplyCoords(corners);
        double x0 = double.PositiveInfinity, y0 = double.PositiveInfinity, x1 = double.NegativeInfinity, y1 = double.NegativeInfinity;
        for (var i = 0; i < 8; i += 2)
        {
            x0 = Math.Min(x0, corners[i]);
            x1 = Math.Max(x1, corners[i]);
            y0 = Math.Min(y0, corners[i + 1]);
            y1 = Math.Max(y1, corners[i + 1]);
        }
        return [x0, y0, x1, y1];
    }

    /// <summary>A polygon (x0, y0, x1, y1, ...) transformed pointwise; polygons are never clipped (Detectron2 spec §3.3).</summary>
    public double[] ApplyPolygon(IReadOnlyList<double> polygon)
    {
        ArgumentNullException.ThrowIfNull(polygon);
        var copy = polygon.ToArray();
        ApplyCoords(copy);
        return copy;
    }

    /// <summary>The image as a (C, H, W) uint8 tensor, e.g. for a predictor that decoded it already.</summary>
    public Tensor ApplyImage(Tensor chw) => ApplyImage(ImageBuffer.FromTensor(chw)).ToTensor();

    /// <summary>Full-image instance masks, each transformed with <see cref="ApplySegmentation"/>.</summary>
    public BitMasks ApplyBitMasks(BitMasks masks)
    {
        ArgumentNullException.ThrowIfNull(masks);
        using var scope = NewDisposeScope();
        var (h, w) = masks.ImageSize;
        var n = (int)masks.Length;
        var source = n == 0 || h * w == 0 ? [] : TensorMemory.ToArray<byte>(masks.Tensor.to(ScalarType.Byte));
        var outputs = new List<ImageBuffer>(n);
        for (var i = 0; i < n; i++)
            outputs.Add(ApplySegmentation(new ImageBuffer(source.AsSpan(i * h * w, h * w).ToArray(), h, w, 1)));
        var (outH, outW) = OutputSize(h, w);
        var data = new byte[(long)n * outH * outW];
        for (var i = 0; i < n; i++) outputs[i].Pixels.CopyTo(data, (long)i * outH * outW);
        var result = new BitMasks(tensor(data, [n, outH, outW]));
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The (height, width) an image of (<paramref name="height"/>, <paramref name="width"/>) has after this transform.</summary>
    public abstract (int Height, int Width) OutputSize(int height, int width);
}
