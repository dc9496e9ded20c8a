using D2.Detection.Layers;
using static TorchSharp.torch;

namespace D2.Detection.Structures;

/// <summary>
/// Detectron2's <c>PolygonMasks</c>: per instance a list of polygons, each a float64 x0,y0,x1,y1,... vector in image
/// coordinates. Kept on the CPU (spec §3.4); mask targets are rasterised per ROI with the COCO rule (spec §14.2).
/// </summary>
public sealed class PolygonMasks : IInstanceField
{
    readonly double[][][] _polygons;

    /// <param name="polygons">per instance, its polygons; each needs an even number of coordinates, at least 6</param>
    public PolygonMasks(IEnumerable<IEnumerable<IReadOnlyList<double>>> polygons)
    {
        ArgumentNullException.ThrowIfNull(polygons);
        _polygons = polygons.Select((instance, i) =>
        {
            if (instance is null) throw new ArgumentException($"Instance {i} has no polygon list.", nameof(polygons));
            return instance.Select((polygon, j) =>
            {
                // Detectron2 rejects what the COCO rasteriser cannot read as a polygon (fewer than 3 points or a dangling x).
                if (polygon is null || polygon.Count % 2 != 0 || polygon.Count < 6)
                    throw new ArgumentException(
                        $"Cannot create a polygon from {polygon?.Count ?? 0} coordinates (instance {i}, polygon {j}); need x,y pairs, at least 3 points.",
                        nameof(polygons));
                return polygon.ToArray();
            }).ToArray();
        }).ToArray();
        Polygons = Array.AsReadOnly(_polygons
            .Select(p => (IReadOnlyList<IReadOnlyList<double>>)Array.AsReadOnly(p.Select(a => (IReadOnlyList<double>)Array.AsReadOnly(a)).ToArray()))
            .ToArray());
    }

    /// <summary>Per instance, its polygons (x0, y0, x1, y1, ...).</summary>
    public IReadOnlyList<IReadOnlyList<IReadOnlyList<double>>> Polygons { get; }

    public long Length => _polygons.Length;

    /// <returns>(N, 4) float32 tight boxes, computed in float32 as Detectron2 does</returns>
    /// <remarks>Detectron2 starts the maximum at 0, so coordinates all below 0 give a max of 0, and an instance without
    /// polygons gets (inf, inf, 0, 0); reproduced as is.</remarks>
    public Boxes GetBoundingBoxes()
    {
        var data = new float[_polygons.Length * 4];
        for (var i = 0; i < _polygons.Length; i++)
        {
            float minX = float.PositiveInfinity, minY = float.PositiveInfinity, maxX = 0, maxY = 0;
            foreach (var polygon in _polygons[i])
            {
                for (var k = 0; k < polygon.Length; k += 2)
                {
                    float x = (float)polygon[k], y = (float)polygon[k + 1];
                    minX = Math.Min(minX, x);
                    minY = Math.Min(minY, y);
                    maxX = Math.Max(maxX, x);
                    maxY = Math.Max(maxY, y);
                }
            }
            data[4 * i] = minX;
            data[4 * i + 1] = minY;
            data[4 * i + 2] = maxX;
            data[4 * i + 3] = maxY;
        }
        using var scope = NewDisposeScope();
        var boxes = new Boxes(tensor(data, [_polygons.Length, 4]));
        return boxes.MoveToOuterDisposeScope();
    }

    /// <returns>(N,) bool: the instance has at least one polygon</returns>
    public Tensor Nonempty() => tensor(_polygons.Select(p => p.Length > 0).ToArray());

    /// <returns>(N,) float64 shoelace area summed over each instance's polygons (Detectron2 PolygonMasks.area)</returns>
    public Tensor Area() => tensor(_polygons.Select(p => p.Sum(ShoelaceArea)).ToArray());

    /// <summary>0.5 * |sum x_i y_(i-1) - sum y_i x_(i-1)|, Detectron2's polygon_area with np.roll.</summary>
    internal static double ShoelaceArea(double[] xy)
    {
        var n = xy.Length / 2;
        double forward = 0, backward = 0;
        for (var i = 0; i < n; i++)
        {
            var previous = (i + n - 1) % n;
            forward += xy[2 * i] * xy[2 * previous + 1];
            backward += xy[2 * i + 1] * xy[2 * previous];
        }
        return 0.5 * Math.Abs(forward - backward);
    }

    /// <summary>
    /// Mask R-CNN targets: each instance's polygons cropped to its box and rasterised on a maskSize x maskSize grid
    /// (Detectron2 rasterize_polygons_within_box).
    /// </summary>
    /// <param name="boxes">(N, 4) XYXY, one per instance</param>
    /// <returns>(N, maskSize, maskSize) bool on the boxes' device</returns>
    public Tensor CropAndResize(Tensor boxes, int maskSize)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maskSize);
        if (boxes.dim() != 2 || boxes.shape[1] != 4 || boxes.shape[0] != Length)
            throw new ArgumentException(
                $"CropAndResize needs ({Length}, 4) boxes, one per instance; got shape {Selection.Shape(boxes)}.", nameof(boxes));
        using var scope = NewDisposeScope();
        // Detectron2 moves the boxes to the CPU and reads them as float32.
        var corners = TensorMemory.ToArray<float>(boxes.detach().to(ScalarType.Float32));
        var cells = maskSize * maskSize;
        var masks = new byte[_polygons.Length * cells];
        for (var i = 0; i < _polygons.Length; i++)
        {
            var mask = RasterizeWithinBox(_polygons[i], corners.AsSpan(4 * i, 4), maskSize);
            mask.CopyTo(masks, i * cells);
        }
        var result = tensor(masks, [_polygons.Length, maskSize, maskSize]).to(ScalarType.Bool).to(boxes.device);
        return result.MoveToOuterDisposeScope();
    }

    static byte[] RasterizeWithinBox(double[][] instance, ReadOnlySpan<float> box, int maskSize)
    {
        float x0 = box[0], y0 = box[1];
        // Width and height are float32 differences, as numpy computes them from the float32 box.
        float w = box[2] - x0, h = box[3] - y0;
        // max(., 0.1) keeps degenerate boxes from blowing the polygon up to infinity.
        var ratioH = maskSize / (0.1 > h ? 0.1 : h);
        var ratioW = maskSize / (0.1 > w ? 0.1 : w);
        var shifted = instance.Select(polygon =>
        {
            var p = new double[polygon.Length];
            for (var k = 0; k < p.Length; k += 2)
            {
                p[k] = (polygon[k] - x0) * ratioW;
                p[k + 1] = (polygon[k + 1] - y0) * ratioH;
            }
            return p;
        });
        return Rle.FromPolygons(shifted, maskSize, maskSize).Decode();
    }

    /// <summary>The instances chosen by an (N,) bool mask or an index vector.</summary>
    public PolygonMasks this[Tensor selection] => Index(selection);

    /// <inheritdoc cref="this[Tensor]"/>
    public PolygonMasks Index(Tensor selection) =>
        Index((IReadOnlyList<int>)Selection.ToIndexArray(selection, Length, "PolygonMasks").Select(i => (int)i).ToArray());

    /// <summary>The instances at <paramref name="indices"/>, in that order (Detectron2's list indexing).</summary>
    public PolygonMasks Index(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        return new PolygonMasks(indices.Select(i => i >= 0 && i < _polygons.Length
            ? _polygons[i]
            : throw new ArgumentOutOfRangeException(nameof(indices), i, $"Index {i} is out of range for {_polygons.Length} instances.")).ToArray());
    }

    public static PolygonMasks Cat(IReadOnlyList<PolygonMasks> masksList)
    {
        ArgumentNullException.ThrowIfNull(masksList);
        if (masksList.Count == 0) throw new ArgumentException("Cat needs at least one PolygonMasks.", nameof(masksList));
        return new PolygonMasks(masksList.SelectMany(m => m._polygons).ToArray());
    }

    public override string ToString() => $"PolygonMasks(num_instances={Length})";

    IInstanceField IInstanceField.Select(Tensor selection) => Index(selection);

    IInstanceField IInstanceField.Concat(IReadOnlyList<IInstanceField> others) =>
        Cat([this, .. others.Select((o, i) => o as PolygonMasks
            ?? throw new ArgumentException($"Cannot concatenate PolygonMasks with a {o?.GetType().Name ?? "null"} (part {i + 1}).", nameof(others)))]);

    // Polygons stay on the CPU whatever the device, as in Detectron2.
    IInstanceField IInstanceField.To(Device device) => this;

    void IInstanceField.MoveToOuterDisposeScope()
    {
    }
}
