namespace D2.Detection.Evaluation;

/// <summary>The accumulated result of a COCO evaluation (pycocotools' <c>COCOeval.eval</c> and <c>stats</c>):
/// precision [T, R, K, A, M], recall [T, K, A, M] and scores [T, R, K, A, M], -1 where a category has no
/// counted ground truth; plus the 12 summary numbers.</summary>
public sealed class CocoEvaluation
{
    readonly double[] _precision;
    readonly double[] _recall;
    readonly double[] _scores;
    readonly int _r, _k, _a, _m;

    internal CocoEvaluation(CocoEvalParams parameters)
    {
        Params = parameters;
        var t = parameters.IouThresholds.Count;
        _r = parameters.RecallThresholds.Count;
        _k = parameters.CategoryIds.Count;
        _a = parameters.AreaRanges.Count;
        _m = parameters.MaxDetections.Count;
        _precision = Filled(t * _r * _k * _a * _m);
        _scores = Filled(t * _r * _k * _a * _m);
        _recall = Filled(t * _k * _a * _m);
    }

    public CocoEvalParams Params { get; }

    /// <summary>AP@[.50:.95], AP50, AP75, APs, APm, APl (maxDets 100), AR1, AR10, AR100, ARs, ARm, ARl:
    /// COCOeval.stats, fractions, -1 where nothing was defined.</summary>
    public IReadOnlyList<double> Stats { get; internal set; } = [];

    /// <summary>The 12 lines COCOeval.summarize() prints.</summary>
    public IReadOnlyList<string> SummaryLines { get; internal set; } = [];

    /// <param name="iou">IoU threshold index</param>
    /// <param name="recallPoint">recall threshold index</param>
    /// <param name="category">index into <see cref="CocoEvalParams.CategoryIds"/></param>
    /// <param name="area">area range index</param>
    /// <param name="maxDets">maxDets index</param>
    public double Precision(int iou, int recallPoint, int category, int area, int maxDets) =>
        _precision[Index(iou, recallPoint, category, area, maxDets)];

    /// <summary>The score of the detection that sets <see cref="Precision"/> at that point (0 beyond the reached recall).</summary>
    public double Score(int iou, int recallPoint, int category, int area, int maxDets) =>
        _scores[Index(iou, recallPoint, category, area, maxDets)];

    public double Recall(int iou, int category, int area, int maxDets) => _recall[((iou * _k + category) * _a + area) * _m + maxDets];

    internal void SetPrecision(int iou, int recallPoint, int category, int area, int maxDets, double value, double score)
    {
        var index = Index(iou, recallPoint, category, area, maxDets);
        _precision[index] = value;
        _scores[index] = score;
    }

    internal void SetRecall(int iou, int category, int area, int maxDets, double value) =>
        _recall[((iou * _k + category) * _a + area) * _m + maxDets] = value;

    int Index(int iou, int recallPoint, int category, int area, int maxDets) =>
        (((iou * _r + recallPoint) * _k + category) * _a + area) * _m + maxDets;

    static double[] Filled(int length)
    {
        var values = new double[length];
        Array.Fill(values, -1.0);
        return values;
    }
}
