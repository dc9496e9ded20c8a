using System.Globalization;

namespace D2.Detection.Evaluation;

/// <summary>pycocotools' <c>COCOeval.summarize</c> for bbox and segm: the 12 stats and their printed lines.</summary>
internal static class CocoSummary
{
    public static void Summarize(CocoEvaluation evaluation)
    {
        var maxDets = evaluation.Params.MaxDetections;
        var rows = new (bool Precision, double? Iou, string Area, int MaxDets)[]
        {
            (true, null, "all", maxDets[2]),
            (true, 0.5, "all", maxDets[2]),
            (true, 0.75, "all", maxDets[2]),
            (true, null, "small", maxDets[2]),
            (true, null, "medium", maxDets[2]),
            (true, null, "large", maxDets[2]),
            (false, null, "all", maxDets[0]),
            (false, null, "all", maxDets[1]),
            (false, null, "all", maxDets[2]),
            (false, null, "small", maxDets[2]),
            (false, null, "medium", maxDets[2]),
            (false, null, "large", maxDets[2]),
        };
        var stats = new double[rows.Length];
        var lines = new string[rows.Length];
        for (var i = 0; i < rows.Length; i++)
        {
            var (isPrecision, iou, area, maxDet) = rows[i];
            stats[i] = Stat(evaluation, isPrecision, iou, area, maxDet);
            lines[i] = Line(evaluation.Params, isPrecision, iou, area, maxDet, stats[i]);
        }
        evaluation.Stats = stats;
        evaluation.SummaryLines = lines;
    }

    /// <summary>Mean of the selected precision (or recall) entries that are > -1, in numpy's C order; -1 if none.</summary>
    static double Stat(CocoEvaluation evaluation, bool isPrecision, double? iou, string areaLabel, int maxDet)
    {
        var p = evaluation.Params;
        var area = FirstIndex(p.AreaRanges.Count, i => p.AreaRanges[i].Label == areaLabel);
        var m = FirstIndex(p.MaxDetections.Count, i => p.MaxDetections[i] == maxDet);
        // np.where(iouThr == p.iouThrs): an exact comparison, which works because 0.5 and 0.75 come out of linspace exactly.
        var thresholds = Enumerable.Range(0, p.IouThresholds.Count).Where(t => iou is null || p.IouThresholds[t] == iou).ToArray();
        if (area < 0 || m < 0)
            return -1;
        var selected = new List<double>();
        foreach (var t in thresholds)
        {
            if (isPrecision)
            {
                for (var r = 0; r < p.RecallThresholds.Count; r++)
                for (var k = 0; k < p.CategoryIds.Count; k++)
                    Keep(evaluation.Precision(t, r, k, area, m));
            }
            else
            {
                for (var k = 0; k < p.CategoryIds.Count; k++)
                    Keep(evaluation.Recall(t, k, area, m));
            }
        }
        return selected.Count == 0 ? -1 : NumpyCompat.Mean(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(selected));

        void Keep(double value)
        {
            if (value > -1)
                selected.Add(value);
        }
    }

    static int FirstIndex(int count, Func<int, bool> predicate)
    {
        for (var i = 0; i < count; i++)
        {
            if (predicate(i))
                return i;
        }
        return -1;
    }

    /// <summary>' {:&lt;18} {} @[ IoU={:&lt;9} | area={:&gt;6s} | maxDets={:&gt;3d} ] = {:0.3f}'</summary>
    static string Line(CocoEvalParams p, bool isPrecision, double? iou, string area, int maxDet, double value)
    {
        var title = isPrecision ? "Average Precision" : "Average Recall";
        var kind = isPrecision ? "(AP)" : "(AR)";
        var iouText = iou is { } single
            ? single.ToString("F2", CultureInfo.InvariantCulture)
            : $"{p.IouThresholds[0].ToString("F2", CultureInfo.InvariantCulture)}:{p.IouThresholds[^1].ToString("F2", CultureInfo.InvariantCulture)}";
        return $" {title,-18} {kind} @[ IoU={iouText,-9} | area={area,6} | maxDets={maxDet,3} ] = {NumpyCompat.Fixed3(value)}";
    }
}
