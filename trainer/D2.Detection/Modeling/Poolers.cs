using D2.Detection.Layers;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling;

/// <summary>
/// Detectron2's ROIPooler: pools a fixed-size feature for every box from one feature map, or from the FPN level that
/// suits the box's size (FPN paper, Eqn. 1). Pooler types: "ROIAlignV2" (aligned, Detectron2's default for FPN) and
/// "ROIAlign" (legacy, unaligned).
/// </summary>
public sealed class ROIPooler : nn.Module<IReadOnlyList<Tensor>, IReadOnlyList<Tensor>, Tensor>
{
    readonly double[] _scales;
    readonly bool _aligned;

    /// <param name="outputSize">pooled height and width, e.g. 7 (box head) or 14 (mask head)</param>
    /// <param name="scales">1 / stride of each feature map, finest first, halving from level to level</param>
    /// <param name="samplingRatio">ROIAlign samples per bin and axis; 0 = adaptive</param>
    /// <param name="poolerType">"ROIAlignV2" or "ROIAlign"</param>
    /// <param name="canonicalBoxSize">box size (sqrt of area, input pixels) that belongs to <paramref name="canonicalLevel"/></param>
    /// <param name="canonicalLevel">level (log2 of stride) of a canonically sized box; 4 in the FPN paper</param>
    public ROIPooler(int outputSize, IReadOnlyList<double> scales, int samplingRatio, string poolerType,
        int canonicalBoxSize = 224, int canonicalLevel = 4) : base(nameof(ROIPooler))
    {
        ArgumentNullException.ThrowIfNull(scales);
        ArgumentNullException.ThrowIfNull(poolerType);
        if (scales.Count == 0)
            throw new ArgumentException("ROIPooler needs at least one scale.", nameof(scales));
        if (outputSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, "The pooled size must be positive.");
        if (samplingRatio < 0)
            throw new ArgumentOutOfRangeException(nameof(samplingRatio), samplingRatio, "The sampling ratio must be 0 (adaptive) or positive.");
        var aligned = poolerType switch
        {
            "ROIAlignV2" => true,
            "ROIAlign" => false,
            _ => throw new ArgumentException($"Unknown pooler type '{poolerType}': use ROIAlignV2 or ROIAlign.", nameof(poolerType)),
        };
        if (canonicalBoxSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(canonicalBoxSize), canonicalBoxSize, "The canonical box size must be positive.");

        // Scales are 1 / stride with power-of-two strides, so each level is -log2(scale).
        var minLevel = -Math.Log2(scales[0]);
        var maxLevel = -Math.Log2(scales[^1]);
        if (Math.Abs(minLevel - Math.Round(minLevel)) > 1e-9 || Math.Abs(maxLevel - Math.Round(maxLevel)) > 1e-9)
            throw new ArgumentException($"Feature map strides must be powers of 2; got scales [{string.Join(", ", scales)}].", nameof(scales));
        MinLevel = (int)Math.Round(minLevel);
        MaxLevel = (int)Math.Round(maxLevel);
        if (scales.Count != MaxLevel - MinLevel + 1 || MinLevel < 0 || MinLevel > MaxLevel)
            throw new ArgumentException($"The scales [{string.Join(", ", scales)}] do not form a pyramid of halving resolutions.", nameof(scales));

        OutputSize = outputSize;
        SamplingRatio = samplingRatio;
        CanonicalBoxSize = canonicalBoxSize;
        CanonicalLevel = canonicalLevel;
        PoolerType = poolerType;
        _scales = [.. scales];
        _aligned = aligned;
    }

    public int OutputSize { get; }
    public IReadOnlyList<double> Scales => _scales;
    public int SamplingRatio { get; }
    public string PoolerType { get; }
    public int MinLevel { get; }
    public int MaxLevel { get; }
    public int CanonicalBoxSize { get; }
    public int CanonicalLevel { get; }

    /// <param name="features">per level, (N, C, Hi, Wi), in the order of the scales</param>
    /// <param name="boxes">per image, (Ri, 4) XYXY in input-image pixels</param>
    /// <returns>(sum Ri, C, output size, output size), rows in the order of the boxes (image by image)</returns>
    public override Tensor forward(IReadOnlyList<Tensor> features, IReadOnlyList<Tensor> boxes)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(boxes);
        if (features.Count != _scales.Length)
            throw new ArgumentException($"ROIPooler has {_scales.Length} levels but got {features.Count} feature maps.", nameof(features));
        if (boxes.Count != features[0].shape[0])
            throw new ArgumentException($"The features hold {features[0].shape[0]} images but {boxes.Count} box lists were given.", nameof(boxes));

        using var scope = NewDisposeScope();
        var poolerBoxes = ConvertBoxesToPoolerFormat(boxes);
        // A single map (C4, DC5) needs no assignment.
        var levels = _scales.Length == 1
            ? zeros(poolerBoxes.shape[0], ScalarType.Int64)
            : AssignBoxesToLevels(boxes, MinLevel, MaxLevel, CanonicalBoxSize, CanonicalLevel);
        // One pass over the pyramid writes each box's row in place (Detectron2 pools level by level and scatters).
        var output = ROIAlign.MultiLevelROIAlign(features, poolerBoxes, levels, _scales, (OutputSize, OutputSize), SamplingRatio, _aligned);
        return output.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Each box's FPN level: floor(canonical level + log2(sqrt(area) / canonical size + eps)), clamped to the
    /// available levels, computed in the boxes' dtype as Detectron2 does (eps is double machine epsilon, as
    /// Detectron2's sys.float_info[8]; it only keeps log2 finite for empty boxes).
    /// </summary>
    /// <param name="boxes">per image, (Ri, 4) XYXY in input-image pixels</param>
    /// <returns>(sum Ri) int64 level minus <paramref name="minLevel"/></returns>
    public static Tensor AssignBoxesToLevels(IReadOnlyList<Tensor> boxes, int minLevel, int maxLevel, int canonicalBoxSize, int canonicalLevel)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        using var scope = NewDisposeScope();
        var all = cat(boxes.ToList(), 0);
        var areas = (all.select(1, 2) - all.select(1, 0)) * (all.select(1, 3) - all.select(1, 1));
        using Scalar boxSize = canonicalBoxSize, eps = Eps, level = canonicalLevel, min = minLevel, max = maxLevel;
        // canonical_level + log2(sqrt(area) / canonical_box_size + eps), floored
        var levels = areas.sqrt().div(boxSize).add(eps, One).log2().add(level, One).floor();
        return levels.clamp(min, max).to(ScalarType.Int64).sub(min).MoveToOuterDisposeScope();
    }

    // Python's sys.float_info.epsilon, 2^-52.
    const double Eps = 2.220446049250313e-16;

    /// <summary>Boxes as ROIAlign wants them: one (sum Ri, 5) tensor of (image index, x0, y0, x1, y1).</summary>
    /// <param name="boxes">per image, (Ri, 4)</param>
    public static Tensor ConvertBoxesToPoolerFormat(IReadOnlyList<Tensor> boxes)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        using var scope = NewDisposeScope();
        var rows = boxes.Select((b, i) =>
        {
            if (b.dim() != 2 || b.shape[1] != 4)
                throw new ArgumentException($"Boxes of image {i} must be (R, 4) XYXY; got shape [{string.Join(", ", b.shape)}].", nameof(boxes));
            using var index = i.ToScalar();
            return cat([full([b.shape[0], 1], index, b.dtype, b.device), b], 1);
        }).ToList();
        return cat(rows, 0).MoveToOuterDisposeScope();
    }
}
