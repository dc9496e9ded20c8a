using D2.Detection.Config;

namespace D2.Detection.Data.Transforms;

/// <summary>How <see cref="ResizeShortestEdge"/> picks the short-edge length (INPUT.MIN_SIZE_TRAIN_SAMPLING).</summary>
public enum ShortEdgeSampling
{
    /// <summary>Uniformly one of the listed lengths.</summary>
    Choice,

    /// <summary>A uniform integer in [min, max], both included; exactly two lengths are listed.</summary>
    Range,
}

/// <summary>
/// Detectron2's <c>ResizeShortestEdge</c> (spec §3.1): scale so the short edge becomes a drawn length, unless the long
/// edge would then exceed <see cref="MaxSize"/>, in which case the long edge becomes <see cref="MaxSize"/>. A drawn
/// length of 0 leaves the image as it is.
/// </summary>
public sealed class ResizeShortestEdge : IAugmentation
{
    /// <param name="shortEdgeLength">the lengths to choose from, or [min, max] for <see cref="ShortEdgeSampling.Range"/></param>
    /// <param name="maxSize">the longest the long edge may become (Detectron2's default: no limit)</param>
    public ResizeShortestEdge(IReadOnlyList<int> shortEdgeLength, int maxSize = int.MaxValue, ShortEdgeSampling sampling = ShortEdgeSampling.Range)
    {
        ArgumentNullException.ThrowIfNull(shortEdgeLength);
        if (shortEdgeLength.Count == 0) throw new ArgumentException("ResizeShortestEdge needs at least one short-edge length.", nameof(shortEdgeLength));
        if (shortEdgeLength.Any(s => s < 0)) throw new ArgumentException($"Short-edge lengths must not be negative; got [{string.Join(", ", shortEdgeLength)}].", nameof(shortEdgeLength));
        if (sampling == ShortEdgeSampling.Range && (shortEdgeLength.Count != 2 || shortEdgeLength[0] > shortEdgeLength[1]))
            throw new ArgumentException(
                $"Range sampling needs [min, max] with min <= max; got [{string.Join(", ", shortEdgeLength)}] (more than 2 ({shortEdgeLength.Count}) min_size(s) are provided for ranges?).",
                nameof(shortEdgeLength));
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSize, 1);
        ShortEdgeLength = shortEdgeLength.ToArray();
        MaxSize = maxSize;
        Sampling = sampling;
    }

    public IReadOnlyList<int> ShortEdgeLength { get; }

    public int MaxSize { get; }

    public ShortEdgeSampling Sampling { get; }

    /// <summary>
    /// Detectron2's <c>build_augmentation</c> resize: training reads INPUT.MIN_SIZE_TRAIN, MAX_SIZE_TRAIN and
    /// MIN_SIZE_TRAIN_SAMPLING; testing reads MIN_SIZE_TEST and MAX_SIZE_TEST with "choice" sampling.
    /// </summary>
    public static ResizeShortestEdge FromConfig(CfgNode cfg, bool isTrain)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        if (!isTrain) return new ResizeShortestEdge([cfg.Get<int>("INPUT.MIN_SIZE_TEST")], cfg.Get<int>("INPUT.MAX_SIZE_TEST"), ShortEdgeSampling.Choice);
        var style = cfg.Get<string>("INPUT.MIN_SIZE_TRAIN_SAMPLING");
        var sampling = style switch
        {
            "choice" => ShortEdgeSampling.Choice,
            "range" => ShortEdgeSampling.Range,
            _ => throw new ArgumentException($"INPUT.MIN_SIZE_TRAIN_SAMPLING '{style}' is not supported; use \"choice\" or \"range\".", nameof(cfg)),
        };
        return new ResizeShortestEdge(cfg.Get<int[]>("INPUT.MIN_SIZE_TRAIN"), cfg.Get<int>("INPUT.MAX_SIZE_TRAIN"), sampling);
    }

    public Transform GetTransform(int height, int width, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var size = Sampling == ShortEdgeSampling.Range
            ? random.Next(ShortEdgeLength[0], ShortEdgeLength[1] + 1)
            : ShortEdgeLength[random.Next(ShortEdgeLength.Count)];
        if (size == 0) return NoOpTransform.Instance;
        var (newHeight, newWidth) = GetOutputShape(height, width, size, MaxSize);
        return new ResizeTransform(height, width, newHeight, newWidth);
    }

    /// <summary>The (height, width) after resizing (h, w) to short edge <paramref name="shortEdgeLength"/>, long edge at most <paramref name="maxSize"/>.</summary>
    public static (int Height, int Width) GetOutputShape(int height, int width, int shortEdgeLength, int maxSize)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"Cannot resize an empty image ({height}x{width}).");
        double size = shortEdgeLength;
        var scale = size / Math.Min(height, width);
        double newHeight, newWidth;
        if (height < width) (newHeight, newWidth) = (size, scale * width);
        else (newHeight, newWidth) = (scale * height, size);
        if (Math.Max(newHeight, newWidth) > maxSize)
        {
            scale = maxSize * 1.0 / Math.Max(newHeight, newWidth);
            newHeight *= scale;
            newWidth *= scale;
        }
        // Python's int(x + 0.5): round half up, truncating toward zero.
        return ((int)(newHeight + 0.5), (int)(newWidth + 0.5));
    }

    public override string ToString() =>
        $"ResizeShortestEdge(short_edge_length=({string.Join(", ", ShortEdgeLength)}), max_size={MaxSize}, sample_style='{Sampling.ToString().ToLowerInvariant()}')";
}
