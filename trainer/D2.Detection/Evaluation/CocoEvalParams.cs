namespace D2.Detection.Evaluation;

/// <summary>What COCO evaluation compares: boxes or masks.</summary>
public enum CocoIouType
{
    Bbox,
    Segm,
}

/// <summary>An object-area range for AP/AR, inclusive at both ends (pycocotools ignores an instance when
/// <c>area &lt; Min or area &gt; Max</c>, so an area of exactly 32² is both small and medium).</summary>
public readonly record struct CocoAreaRange(string Label, double Min, double Max)
{
    public bool Contains(double area) => !(area < Min || area > Max);
}

/// <summary>pycocotools' <c>Params</c> for bbox and segm (<c>setDetParams</c>), with useCats = 1.</summary>
public sealed class CocoEvalParams
{
    public CocoEvalParams(CocoIouType iouType, IReadOnlyList<long> imageIds, IReadOnlyList<long> categoryIds)
    {
        IouType = iouType;
        // COCOeval.evaluate() applies np.unique: sorted, distinct.
        ImageIds = [.. imageIds.Distinct().Order()];
        CategoryIds = [.. categoryIds.Distinct().Order()];
    }

    /// <summary>Parameters for evaluating against every image and category of <paramref name="groundTruth"/>.</summary>
    public static CocoEvalParams For(CocoDataset groundTruth, CocoIouType iouType) =>
        new(iouType, groundTruth.ImageIds, groundTruth.CategoryIds);

    public CocoIouType IouType { get; }

    public IReadOnlyList<long> ImageIds { get; }

    public IReadOnlyList<long> CategoryIds { get; }

    /// <summary>0.50, 0.55, ..., 0.95 with numpy's linspace rounding (the 9th is 0.8999999999999999);
    /// 0.5 and 0.75 are exact, which AP50 and AP75 rely on.</summary>
    public IReadOnlyList<double> IouThresholds { get; } = NumpyLinspace(0.5, 0.95, 10);

    /// <summary>0.00, 0.01, ..., 1.00 (101 points), numpy's linspace.</summary>
    public IReadOnlyList<double> RecallThresholds { get; } = NumpyLinspace(0.0, 1.0, 101);

    /// <summary>[1, 10, 100]; evaluateImg keeps the largest, accumulate slices the others.</summary>
    public IReadOnlyList<int> MaxDetections { get; } = [1, 10, 100];

    /// <summary>all, small, medium, large: [0, 1e5²], [0, 32²], [32², 96²], [96², 1e5²].</summary>
    public IReadOnlyList<CocoAreaRange> AreaRanges { get; } =
    [
        new("all", 0, 1e10),
        new("small", 0, 32 * 32),
        new("medium", 32 * 32, 96 * 96),
        new("large", 96 * 96, 1e10),
    ];

    /// <summary>numpy.linspace(start, stop, num) with endpoint=True: i * step + start, the last value set to stop.</summary>
    internal static double[] NumpyLinspace(double start, double stop, int num)
    {
        var values = new double[num];
        var step = (stop - start) / (num - 1);
        for (var i = 0; i < num; i++)
            values[i] = i * step + start;
        values[num - 1] = stop;
        return values;
    }
}
