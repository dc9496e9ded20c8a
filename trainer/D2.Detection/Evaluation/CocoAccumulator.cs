namespace D2.Detection.Evaluation;

/// <summary>pycocotools' <c>COCOeval.accumulate</c> for one category: precision at 101 recall points, recall and
/// the score at each point, for every IoU threshold, area range and maxDets.</summary>
internal static class CocoAccumulator
{
    // np.spacing(1): keeps tp / (tp + fp) finite where both are 0, and nudges every value the same way numpy does.
    const double Epsilon = 2.220446049250313e-16;

    /// <param name="k">category index.</param>
    /// <param name="cellScores">per cell (ascending image id), its detections' scores in rank order.</param>
    /// <param name="matches">[cell, area range].</param>
    public static void Accumulate(int k, IReadOnlyList<double[]> cellScores, CocoImageMatch[,] matches, CocoEvaluation evaluation)
    {
        var p = evaluation.Params;
        // No ground truth and no detection for this category anywhere: precision and recall stay -1.
        if (cellScores.Count == 0)
            return;
        for (var m = 0; m < p.MaxDetections.Count; m++)
        {
            var maxDet = p.MaxDetections[m];
            // Concatenate each image's top maxDet detections in image order, then rank all of them by score;
            // ties keep that order, as np.argsort(-scores, kind='mergesort') does.
            var count = 0;
            foreach (var scores in cellScores)
                count += Math.Min(scores.Length, maxDet);
            var cellOf = new int[count];
            var rankOf = new int[count];
            var score = new double[count];
            var e = 0;
            for (var c = 0; c < cellScores.Count; c++)
            {
                for (var d = 0; d < Math.Min(cellScores[c].Length, maxDet); d++)
                {
                    cellOf[e] = c;
                    rankOf[e] = d;
                    score[e] = cellScores[c][d];
                    e++;
                }
            }
            var order = StableRankByScore(score);

            for (var a = 0; a < p.AreaRanges.Count; a++)
                AccumulateRange(k, a, m, order, cellOf, rankOf, score, matches, evaluation);
        }
    }

    /// <summary>Positions sorted by descending score, equal scores in position order (a stable sort).</summary>
    static int[] StableRankByScore(double[] score)
    {
        var keys = new double[score.Length];
        var order = new int[score.Length];
        for (var i = 0; i < score.Length; i++)
        {
            keys[i] = -score[i];
            order[i] = i;
        }
        // The primitive sort is fast but unstable; equal keys end up adjacent, so each run of ties is put back in
        // position order afterwards.
        Array.Sort(keys, order);
        for (var start = 0; start < keys.Length;)
        {
            var end = start + 1;
            while (end < keys.Length && (keys[end] == keys[start] || keys[end].Equals(keys[start])))
                end++;
            if (end - start > 1)
                Array.Sort(order, start, end - start);
            start = end;
        }
        return order;
    }

    static void AccumulateRange(int k, int a, int m, int[] order, int[] cellOf, int[] rankOf, double[] score,
        CocoImageMatch[,] matches, CocoEvaluation evaluation)
    {
        var p = evaluation.Params;
        var counted = 0;
        for (var c = 0; c < matches.GetLength(0); c++)
            counted += matches[c, a].CountedGroundTruths;
        // Only crowd or out-of-range ground truths: undefined (-1), as pycocotools skips it.
        if (counted == 0)
            return;

        // Outcomes in rank order, one row per IoU threshold, so that each threshold reads one contiguous row.
        var n = order.Length;
        var thresholds = p.IouThresholds.Count;
        var ranked = new DetectionOutcome[thresholds * n];
        for (var i = 0; i < n; i++)
        {
            var entry = order[i];
            var match = matches[cellOf[entry], a];
            for (var t = 0; t < thresholds; t++)
                ranked[t * n + i] = match.Outcomes[t * match.DetectionCount + rankOf[entry]];
        }

        var recall = new double[n];
        var precision = new double[n];
        var recallThresholds = p.RecallThresholds;
        for (var t = 0; t < thresholds; t++)
        {
            var row = ranked.AsSpan(t * n, n);
            double tp = 0, fp = 0;
            for (var i = 0; i < n; i++)
            {
                // Ignored detections still take a place in the ranking; they just add neither tp nor fp.
                if (row[i] == DetectionOutcome.TruePositive)
                    tp++;
                else if (row[i] == DetectionOutcome.FalsePositive)
                    fp++;
                recall[i] = tp / counted;
                precision[i] = tp / (fp + tp + Epsilon);
            }
            evaluation.SetRecall(t, k, a, m, n > 0 ? recall[n - 1] : 0);

            // Interpolate: precision at a recall is the best precision at that recall or beyond.
            for (var i = n - 1; i > 0; i--)
            {
                if (precision[i] > precision[i - 1])
                    precision[i - 1] = precision[i];
            }
            // np.searchsorted(recall, recThrs, side='left'); recall thresholds past the last reached recall stay 0.
            var position = 0;
            for (var r = 0; r < recallThresholds.Count; r++)
            {
                while (position < n && recall[position] < recallThresholds[r])
                    position++;
                if (position >= n)
                {
                    for (var rest = r; rest < recallThresholds.Count; rest++)
                        evaluation.SetPrecision(t, rest, k, a, m, 0, 0);
                    break;
                }
                evaluation.SetPrecision(t, r, k, a, m, precision[position], score[order[position]]);
            }
        }
    }
}
