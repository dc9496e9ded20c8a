namespace D2.Detection.Evaluation;

/// <summary>COCO detection evaluation with pycocotools' semantics (COCOeval evaluate, accumulate, summarize) for
/// bbox and segm. Categories are independent, so they are evaluated in parallel; the numbers do not depend on it.</summary>
public sealed class CocoEvaluator
{
    readonly CocoDataset _groundTruth;
    readonly CocoResults _results;

    public CocoEvaluator(CocoDataset groundTruth, CocoResults results, CocoEvalParams parameters)
    {
        _groundTruth = groundTruth;
        _results = results;
        Params = parameters;
    }

    public CocoEvalParams Params { get; }

    /// <summary>Evaluates <paramref name="results"/> against every image and category of <paramref name="groundTruth"/>.</summary>
    /// <exception cref="CocoFormatException">something the evaluation needs is missing (a box, a mask, an image size).</exception>
    public static CocoEvaluation Evaluate(CocoDataset groundTruth, CocoResults results, CocoIouType iouType) =>
        new CocoEvaluator(groundTruth, results, CocoEvalParams.For(groundTruth, iouType)).Run();

    /// <summary>evaluate() + accumulate() + summarize().</summary>
    public CocoEvaluation Run(int maxDegreeOfParallelism = -1)
    {
        var set = new CocoEvalSet(_groundTruth, _results, Params);
        var evaluation = new CocoEvaluation(Params);
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism };
        try
        {
            Parallel.For(0, Params.CategoryIds.Count, options, k => EvaluateCategory(set, k, evaluation));
        }
        catch (AggregateException e) when (e.InnerExceptions.FirstOrDefault(x => x is CocoFormatException) is CocoFormatException format)
        {
            // Report the input problem itself, not the parallel wrapper.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(format).Throw();
            throw;
        }
        CocoSummary.Summarize(evaluation);
        return evaluation;
    }

    static void EvaluateCategory(CocoEvalSet set, int k, CocoEvaluation evaluation)
    {
        var p = set.Params;
        var cells = set.CellsOf(k);
        var matches = new CocoImageMatch[cells.Count, p.AreaRanges.Count];
        var cellScores = new double[cells.Count][];
        for (var c = 0; c < cells.Count; c++)
        {
            var cell = cells[c];
            var ious = set.Ious(cell);
            var gtIds = cell.GroundTruths.Select(set.GroundTruthId).ToArray();
            var gtAreas = cell.GroundTruths.Select(set.GroundTruthArea).ToArray();
            var crowd = cell.GroundTruths.Select(set.IsCrowd).ToArray();
            var dtAreas = cell.Detections.Select(set.DetectionArea).ToArray();
            cellScores[c] = [.. cell.Detections.Select(set.Score)];
            for (var a = 0; a < p.AreaRanges.Count; a++)
                matches[c, a] = CocoImageMatcher.Match(ious, gtIds, gtAreas, crowd, dtAreas, p.AreaRanges[a], p.IouThresholds);
        }
        CocoAccumulator.Accumulate(k, cellScores, matches, evaluation);
    }
}
