using D2.Detection.Config;
using D2.Detection.Modeling.Backbone;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling;

/// <summary>
/// Detectron2's DefaultAnchorGenerator: per feature level, cell anchors (every size x every aspect ratio, centred at 0)
/// shifted to every grid location (row-major, y outer) at multiples of the level's stride plus <c>offset * stride</c>.
/// </summary>
public sealed class DefaultAnchorGenerator
{
    private readonly float[][] _cellAnchors; // per level, A x 4 flattened
    private readonly long[] _strides;
    private readonly double _offset;

    /// <param name="sizes">per level, anchor sizes in pixels (sqrt of area); one list is used for every level</param>
    /// <param name="aspectRatios">per level, height / width ratios; one list is used for every level</param>
    /// <param name="strides">per level, the feature map's stride</param>
    /// <param name="offset">grid offset in [0, 1): 0 puts the first anchor centre at the image corner (Detectron2's default)</param>
    public DefaultAnchorGenerator(IReadOnlyList<IReadOnlyList<double>> sizes, IReadOnlyList<IReadOnlyList<double>> aspectRatios,
        IReadOnlyList<long> strides, double offset = 0.0)
    {
        if (offset is < 0.0 or >= 1.0)
            throw new ArgumentException($"MODEL.ANCHOR_GENERATOR.OFFSET must be in [0, 1), not {offset}.");
        var levels = strides.Count;
        var perLevelSizes = Broadcast(sizes, levels, "MODEL.ANCHOR_GENERATOR.SIZES");
        var perLevelRatios = Broadcast(aspectRatios, levels, "MODEL.ANCHOR_GENERATOR.ASPECT_RATIOS");
        _strides = [.. strides];
        _offset = offset;
        _cellAnchors = new float[levels][];
        for (var level = 0; level < levels; level++)
        {
            var anchors = new List<float>();
            foreach (var size in perLevelSizes[level])
                foreach (var ratio in perLevelRatios[level])
                {
                    // w * h = size^2 and h / w = ratio, computed in float64 as Python does, then stored as float32.
                    var w = Math.Sqrt(size * size / ratio);
                    var h = ratio * w;
                    anchors.AddRange([(float)(-w / 2), (float)(-h / 2), (float)(w / 2), (float)(h / 2)]);
                }
            _cellAnchors[level] = [.. anchors];
        }
    }

    /// <summary>MODEL.ANCHOR_GENERATOR.{SIZES, ASPECT_RATIOS, OFFSET} over the strides of the given levels.</summary>
    /// <param name="inputShape">the feature levels the anchors are for, in order</param>
    public static DefaultAnchorGenerator FromConfig(CfgNode cfg, IReadOnlyList<ShapeSpec> inputShape)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(inputShape);
        return new DefaultAnchorGenerator(
            cfg.Get<double[][]>("MODEL.ANCHOR_GENERATOR.SIZES"),
            cfg.Get<double[][]>("MODEL.ANCHOR_GENERATOR.ASPECT_RATIOS"),
            inputShape.Select(s => s.Stride).ToArray(),
            cfg.Get<double>("MODEL.ANCHOR_GENERATOR.OFFSET"));
    }

    /// <summary>Anchors per location on each level (A): the RPN head predicts that many objectness logits per cell.</summary>
    public IReadOnlyList<int> NumCellAnchors => _cellAnchors.Select(a => a.Length / 4).ToArray();

    /// <summary>Cell anchors of one level, (A, 4), centred at 0.</summary>
    public Tensor CellAnchors(int level) => tensor(_cellAnchors[level], [_cellAnchors[level].Length / 4, 4]);

    /// <param name="gridSizes">per level, the feature map's (H, W)</param>
    /// <returns>per level, (H * W * A, 4) XYXY anchors in input-image pixels; index = (y * W + x) * A + a</returns>
    public List<Tensor> GridAnchors(IReadOnlyList<(long Height, long Width)> gridSizes, Device? device = null)
    {
        if (gridSizes.Count != _strides.Length)
            throw new ArgumentException($"The anchor generator has {_strides.Length} levels but got {gridSizes.Count} feature maps.");
        var result = new List<Tensor>();
        for (var level = 0; level < gridSizes.Count; level++)
        {
            using var scope = NewDisposeScope();
            var (height, width) = gridSizes[level];
            var stride = _strides[level];
            using Scalar first = _offset * stride, endX = width * stride, endY = height * stride, step = stride;
            var shiftsX = arange(first, endX, step, dtype: float32, device: device);
            var shiftsY = arange(first, endY, step, dtype: float32, device: device);
            var grid = meshgrid([shiftsY, shiftsX], indexing: "ij");
            var (shiftY, shiftX) = (grid[0].reshape(-1), grid[1].reshape(-1));
            var shifts = stack([shiftX, shiftY, shiftX, shiftY], dim: 1);
            var cells = CellAnchors(level).to(device ?? CPU);
            result.Add(shifts.view(-1, 1, 4).add(cells.view(1, -1, 4), One).reshape(-1, 4).MoveToOuterDisposeScope());
        }
        return result;
    }

    /// <param name="features">per level, (N, C, H, W)</param>
    public List<Tensor> Generate(IReadOnlyList<Tensor> features) =>
        GridAnchors(features.Select(f => (f.shape[^2], f.shape[^1])).ToList(), features.Count > 0 ? features[0].device : null);

    private static IReadOnlyList<double>[] Broadcast(IReadOnlyList<IReadOnlyList<double>> perLevel, int levels, string key)
    {
        if (perLevel.Count == 1)
            return Enumerable.Repeat(perLevel[0], levels).ToArray();
        if (perLevel.Count != levels)
            throw new ArgumentException($"{key} has {perLevel.Count} entries but there are {levels} feature levels (give one entry, or one per level).");
        return [.. perLevel];
    }
}
