using D2.Detection.Layers;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Structures;

/// <summary>
/// Detectron2's <c>BitMasks</c>: an (N, H, W) bool tensor, one full-image mask per instance. The structure owns its
/// tensor: <see cref="Dispose"/> releases it.
/// </summary>
public sealed class BitMasks : IInstanceField, IDisposable
{
    /// <param name="tensor">(N, H, W); converted to bool (nonzero = on)</param>
    public BitMasks(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.dim() != 3)
            throw new ArgumentException($"BitMasks need an (N, H, W) tensor; got shape {Selection.Shape(tensor)}.", nameof(tensor));
        Tensor = tensor.to(ScalarType.Bool);
    }

    /// <summary>(N, H, W) bool.</summary>
    public Tensor Tensor { get; }

    public (int Height, int Width) ImageSize => ((int)Tensor.shape[1], (int)Tensor.shape[2]);

    public long Length => Tensor.shape[0];

    public Device Device => Tensor.device;

    public BitMasks To(Device device) => new(Tensor.to(device));

    /// <summary>Rasterises each instance's polygons on the full image with the COCO rule (Detectron2 from_polygon_masks).</summary>
    public static BitMasks FromPolygonMasks(PolygonMasks polygonMasks, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(polygonMasks);
        var pixels = height * width;
        var data = new byte[polygonMasks.Length * pixels];
        for (var i = 0; i < polygonMasks.Length; i++)
            Rle.FromPolygons(polygonMasks.Polygons[i], height, width).Decode().CopyTo(data, i * pixels);
        using var scope = NewDisposeScope();
        var masks = new BitMasks(tensor(data, [polygonMasks.Length, height, width]));
        return masks.MoveToOuterDisposeScope();
    }

    /// <summary>Encodes each mask as a COCO RLE (what evaluation results and the inference response carry).</summary>
    public IReadOnlyList<Rle> ToRles()
    {
        using var scope = NewDisposeScope();
        var (h, w) = ImageSize;
        var data = TensorMemory.ToArray<byte>(Tensor.to(ScalarType.Byte));
        var pixels = h * w;
        var rles = new Rle[Length];
        for (var i = 0; i < rles.Length; i++) rles[i] = Rle.Encode(data.AsSpan(i * pixels, pixels), h, w);
        return rles;
    }

    /// <returns>(N,) bool: the mask has at least one pixel on</returns>
    public Tensor Nonempty()
    {
        using var scope = NewDisposeScope();
        return Tensor.flatten(1).any(1).MoveToOuterDisposeScope();
    }

    /// <returns>(N,) int64 number of pixels on</returns>
    public Tensor Area()
    {
        using var scope = NewDisposeScope();
        return Tensor.flatten(1).sum(1, type: ScalarType.Int64).MoveToOuterDisposeScope();
    }

    /// <returns>tight boxes (x0, y0, x1 + 1, y1 + 1) around the on pixels; all zero for an empty mask (Detectron2)</returns>
    public Boxes GetBoundingBoxes()
    {
        using var scope = NewDisposeScope();
        var (h, w) = ImageSize;
        var xAny = Tensor.any(1); // (N, W)
        var yAny = Tensor.any(2); // (N, H)
        var xs = Arange(w, ScalarType.Int64, Tensor.device);
        var ys = Arange(h, ScalarType.Int64, Tensor.device);
        var x0 = where(xAny, xs, w).amin(1);
        var x1 = where(xAny, xs, -1).amax(1).add(One, One);
        var y0 = where(yAny, ys, h).amin(1);
        var y1 = where(yAny, ys, -1).amax(1).add(One, One);
        var nonempty = xAny.any(1);
        var boxes = stack([x0, y0, x1, y1], 1).to(ScalarType.Float32);
        boxes = where(nonempty[.., TensorIndex.None], boxes, zeros_like(boxes));
        return new Boxes(boxes).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mask R-CNN targets: each mask cropped to its box and resized with ROIAlign (aligned, sampling ratio 0, scale 1),
    /// then thresholded at 0.5, as Detectron2's BitMasks.crop_and_resize.
    /// </summary>
    /// <param name="boxes">(N, 4) XYXY, one per mask</param>
    /// <returns>(N, maskSize, maskSize) bool on the masks' device</returns>
    public Tensor CropAndResize(Tensor boxes, int maskSize)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maskSize);
        if (boxes.dim() != 2 || boxes.shape[1] != 4 || boxes.shape[0] != Length)
            throw new ArgumentException(
                $"CropAndResize needs ({Length}, 4) boxes, one per mask; got shape {Selection.Shape(boxes)}.", nameof(boxes));
        using var scope = NewDisposeScope();
        var device = Tensor.device;
        // ROI i reads batch entry i, i.e. its own mask.
        var batchIndices = Arange(Length, boxes.dtype, device)[.., TensorIndex.None];
        var rois = cat([batchIndices, boxes.to(device)], 1);
        var pooled = ROIAlign.Apply(
            Tensor.to(ScalarType.Float32)[.., TensorIndex.None], rois, (maskSize, maskSize), 1.0, 0, aligned: true);
        return pooled.squeeze(1).ge(HalfFloat).MoveToOuterDisposeScope();
    }

    /// <summary>The masks chosen by an (N,) bool mask or an index vector (a copy).</summary>
    public BitMasks this[Tensor selection] => Index(selection);

    /// <inheritdoc cref="this[Tensor]"/>
    public BitMasks Index(Tensor selection)
    {
        using var scope = NewDisposeScope();
        var indices = Selection.ToIndices(selection, Length, "BitMasks");
        return new BitMasks(Tensor.index_select(0, indices.to(Tensor.device))).MoveToOuterDisposeScope();
    }

    /// <summary>Mask <paramref name="index"/> alone (length 1); negative counts from the end.</summary>
    public BitMasks Index(long index)
    {
        if (index < -Length || index >= Length)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Mask index {index} is out of range for {Length} masks.");
        using var scope = NewDisposeScope();
        return new BitMasks(Tensor[index].unsqueeze(0).clone()).MoveToOuterDisposeScope();
    }

    public static BitMasks Cat(IReadOnlyList<BitMasks> masksList)
    {
        ArgumentNullException.ThrowIfNull(masksList);
        if (masksList.Count == 0) throw new ArgumentException("Cat needs at least one BitMasks.", nameof(masksList));
        using var scope = NewDisposeScope();
        return new BitMasks(cat(masksList.Select(m => m.Tensor).ToList(), 0)).MoveToOuterDisposeScope();
    }

    /// <summary>Moves the tensor out of the current dispose scope; returns this for chaining.</summary>
    public BitMasks MoveToOuterDisposeScope()
    {
        Tensor.MoveToOuterDisposeScope();
        return this;
    }

    public void Dispose() => Tensor.Dispose();

    public override string ToString() => $"BitMasks(num_instances={Length})";

    IInstanceField IInstanceField.Select(Tensor selection) => Index(selection);

    IInstanceField IInstanceField.Concat(IReadOnlyList<IInstanceField> others) =>
        Cat([this, .. others.Select((o, i) => o as BitMasks
            ?? throw new ArgumentException($"Cannot concatenate BitMasks with a {o?.GetType().Name ?? "null"} (part {i + 1}).", nameof(others)))]);

    IInstanceField IInstanceField.To(Device device) => To(device);

    void IInstanceField.MoveToOuterDisposeScope() => MoveToOuterDisposeScope();
}
