using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Structures;

/// <summary>
/// Detectron2's <c>Boxes</c>: an (R, 4) float32 tensor of (x0, y0, x1, y1) rows. The structure owns its tensor:
/// <see cref="Dispose"/> releases it.
/// </summary>
public sealed class Boxes : IInstanceField, IDisposable
{
    /// <param name="tensor">(R, 4) XYXY; converted to float32 as Detectron2 does; an empty tensor becomes (0, 4)</param>
    public Boxes(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = NewDisposeScope();
        var boxes = tensor.to(ScalarType.Float32);
        if (boxes.numel() == 0) boxes = boxes.reshape(-1, 4);
        if (boxes.dim() != 2 || boxes.shape[1] != 4)
            throw new ArgumentException($"Boxes need an (R, 4) tensor of x0, y0, x1, y1; got shape {Selection.Shape(tensor)}.", nameof(tensor));
        Tensor = boxes.MoveToOuterDisposeScope();
    }

    /// <summary>(R, 4) float32 XYXY.</summary>
    public Tensor Tensor { get; private set; }

    public long Length => Tensor.shape[0];

    public Device Device => Tensor.device;

    public Boxes Clone() => new(Tensor.clone());

    public Boxes To(Device device) => new(Tensor.to(device));

    /// <returns>(R,) (x1 - x0) * (y1 - y0)</returns>
    public Tensor Area()
    {
        using var scope = NewDisposeScope();
        var t = Tensor;
        return ((t[.., 2] - t[.., 0]) * (t[.., 3] - t[.., 1])).MoveToOuterDisposeScope();
    }

    /// <summary>Clamps x to [0, width] and y to [0, height]; replaces <see cref="Tensor"/> with a new tensor, as Detectron2 does.</summary>
    /// <exception cref="InvalidOperationException">a coordinate is infinite or NaN (Detectron2 asserts the same)</exception>
    public void Clip((int Height, int Width) boxSize)
    {
        using var scope = NewDisposeScope();
        if (!Tensor.isfinite().all().item<bool>())
            throw new InvalidOperationException("Boxes contain an infinite or NaN coordinate; they cannot be clipped.");
        var (h, w) = boxSize;
        var t = Tensor;
        using Scalar width = w, height = h;
        var clipped = stack(
            [t[.., 0].clamp(Zero, width), t[.., 1].clamp(Zero, height), t[.., 2].clamp(Zero, width), t[.., 3].clamp(Zero, height)], dim: -1);
        // The previous tensor is left to its owner's dispose scope: callers may still hold it (e.g. the constructor's input).
        Tensor = clipped.MoveToOuterDisposeScope();
    }

    /// <returns>(R,) bool: width &gt; threshold and height &gt; threshold (strict, as Detectron2)</returns>
    public Tensor Nonempty(double threshold = 0.0)
    {
        using var scope = NewDisposeScope();
        var t = Tensor;
        var widths = t[.., 2] - t[.., 0];
        var heights = t[.., 3] - t[.., 1];
        using var minimum = threshold.ToScalar();
        return (widths.gt(minimum) & heights.gt(minimum)).MoveToOuterDisposeScope();
    }

    /// <summary>Multiplies x coordinates by <paramref name="scaleX"/> and y by <paramref name="scaleY"/>, in place.</summary>
    public void Scale(double scaleX, double scaleY)
    {
        using var scope = NewDisposeScope();
        using Scalar sx = scaleX, sy = scaleY;
        Tensor[.., TensorIndex.Slice(0, null, 2)].mul_(sx);
        Tensor[.., TensorIndex.Slice(1, null, 2)].mul_(sy);
    }

    /// <returns>(R, 2) box centres (x, y)</returns>
    public Tensor GetCenters()
    {
        using var scope = NewDisposeScope();
        return Tensor[.., ..2].add(Tensor[.., 2..], One).div(Two).MoveToOuterDisposeScope();
    }

    /// <summary>The boxes chosen by an (R,) bool mask or an index vector (a copy).</summary>
    public Boxes this[Tensor selection] => Index(selection);

    /// <inheritdoc cref="this[Tensor]"/>
    public Boxes Index(Tensor selection)
    {
        using var scope = NewDisposeScope();
        var indices = Selection.ToIndices(selection, Length, "Boxes");
        var picked = new Boxes(Tensor.index_select(0, indices.to(Tensor.device)));
        picked.MoveToOuterDisposeScope();
        return picked;
    }

    /// <summary>A single box as a Boxes of length 1 (Detectron2's <c>boxes[i]</c>); negative counts from the end.</summary>
    public Boxes Index(long index)
    {
        if (index < -Length || index >= Length)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Box index {index} is out of range for {Length} boxes.");
        using var scope = NewDisposeScope();
        var picked = new Boxes(Tensor[index].view(1, -1).clone());
        picked.MoveToOuterDisposeScope();
        return picked;
    }

    /// <summary>Concatenates boxes; an empty list gives an empty (0, 4) Boxes, as Detectron2.</summary>
    public static Boxes Cat(IReadOnlyList<Boxes> boxesList)
    {
        ArgumentNullException.ThrowIfNull(boxesList);
        if (boxesList.Count == 0) return new Boxes(zeros(0, 4));
        using var scope = NewDisposeScope();
        var result = new Boxes(cat(boxesList.Select(b => b.Tensor).ToList(), 0));
        result.MoveToOuterDisposeScope();
        return result;
    }

    /// <returns>(N, M) intersection areas, negative overlaps clamped to 0</returns>
    public static Tensor PairwiseIntersection(Boxes boxes1, Boxes boxes2)
    {
        ArgumentNullException.ThrowIfNull(boxes1);
        ArgumentNullException.ThrowIfNull(boxes2);
        using var scope = NewDisposeScope();
        Tensor a = boxes1.Tensor, b = boxes2.Tensor;
        var widthHeight = minimum(a[.., TensorIndex.None, 2..], b[.., 2..]) - maximum(a[.., TensorIndex.None, ..2], b[.., ..2]);
        return widthHeight.clamp_min(Zero).prod(2).MoveToOuterDisposeScope();
    }

    /// <returns>(N, M) IoU; 0 wherever the intersection is 0, so empty boxes never divide by zero</returns>
    public static Tensor PairwiseIou(Boxes boxes1, Boxes boxes2)
    {
        using var scope = NewDisposeScope();
        var inter = PairwiseIntersection(boxes1, boxes2);
        var union = boxes1.Area()[.., TensorIndex.None].add(boxes2.Area(), One) - inter;
        return where(inter.gt(Zero), inter / union, zeros(1, inter.dtype, inter.device)).MoveToOuterDisposeScope();
    }

    /// <returns>(N, M) intersection over the area of <paramref name="boxes2"/> (Detectron2's pairwise_ioa), 0 where there is no overlap</returns>
    public static Tensor PairwiseIoa(Boxes boxes1, Boxes boxes2)
    {
        using var scope = NewDisposeScope();
        var inter = PairwiseIntersection(boxes1, boxes2);
        return where(inter.gt(Zero), inter / boxes2.Area(), zeros(1, inter.dtype, inter.device)).MoveToOuterDisposeScope();
    }

    /// <summary>Moves the tensor out of the current dispose scope; returns this for chaining.</summary>
    public Boxes MoveToOuterDisposeScope()
    {
        Tensor.MoveToOuterDisposeScope();
        return this;
    }

    public void Dispose() => Tensor.Dispose();

    public override string ToString() => $"Boxes({Length})";

    IInstanceField IInstanceField.Select(Tensor selection) => Index(selection);

    IInstanceField IInstanceField.Concat(IReadOnlyList<IInstanceField> others) =>
        Cat([this, .. others.Select((o, i) => o as Boxes
            ?? throw new ArgumentException($"Cannot concatenate Boxes with a {o?.GetType().Name ?? "null"} (part {i + 1}).", nameof(others)))]);

    IInstanceField IInstanceField.To(Device device) => To(device);

    void IInstanceField.MoveToOuterDisposeScope() => MoveToOuterDisposeScope();
}
