namespace D2.Detection.Evaluation;

/// <summary>What a detection counts as at one IoU threshold (pycocotools' dtMatches and dtIgnore together).</summary>
internal enum DetectionOutcome : byte
{
    FalsePositive,

    /// <summary>Matched to a counted ground truth whose id is not 0 (pycocotools stores the matched id and tests
    /// it for non-zero, so a match to id 0 is a false positive).</summary>
    TruePositive,

    /// <summary>Matched to an ignored (crowd or out-of-range) ground truth, or unmatched and outside the area range.</summary>
    Ignored,
}

/// <summary>The result of matching one (image, category) cell in one area range: pycocotools' evalImgs entry.</summary>
/// <param name="Outcomes">[t * D + d] for IoU threshold t and detection d (score order).</param>
/// <param name="CountedGroundTruths">ground truths that are neither crowd nor outside the area range.</param>
internal sealed record CocoImageMatch(int DetectionCount, DetectionOutcome[] Outcomes, int CountedGroundTruths);

/// <summary>pycocotools' <c>COCOeval.evaluateImg</c>: greedy matching of score-ranked detections to ground
/// truths at each IoU threshold.</summary>
internal static class CocoImageMatcher
{
    /// <param name="ious">[d * G + g], detections in score order, ground truths in file order (empty if D or G is 0).</param>
    /// <param name="groundTruthIds">annotation ids, file order.</param>
    /// <param name="groundTruthAreas">the annotations' <c>area</c> fields, file order.</param>
    /// <param name="detectionAreas">loadRes areas, score order.</param>
    public static CocoImageMatch Match(
        ReadOnlySpan<double> ious,
        ReadOnlySpan<long> groundTruthIds,
        ReadOnlySpan<double> groundTruthAreas,
        ReadOnlySpan<bool> isCrowd,
        ReadOnlySpan<double> detectionAreas,
        CocoAreaRange range,
        IReadOnlyList<double> iouThresholds)
    {
        var gtCount = groundTruthIds.Length;
        var dtCount = detectionAreas.Length;
        var thresholds = iouThresholds.Count;

        // Ignore flag: crowd, or area outside the range (the annotation's area field, inclusive bounds).
        // Ground truths are then ordered non-ignored first, each group in file order (a stable sort on the flag).
        var order = new int[gtCount];
        var ignored = new bool[gtCount];
        var counted = 0;
        for (var g = 0; g < gtCount; g++)
        {
            if (!isCrowd[g] && range.Contains(groundTruthAreas[g]))
                order[counted++] = g;
        }
        var next = counted;
        for (var g = 0; g < gtCount; g++)
        {
            if (isCrowd[g] || !range.Contains(groundTruthAreas[g]))
                order[next++] = g;
        }
        var crowd = new bool[gtCount];
        var ids = new long[gtCount];
        for (var g = 0; g < gtCount; g++)
        {
            ignored[g] = g >= counted;
            crowd[g] = isCrowd[order[g]];
            ids[g] = groundTruthIds[order[g]];
        }

        var matched = new bool[thresholds * dtCount];
        var dtIgnored = new bool[thresholds * dtCount];
        if (gtCount > 0 && dtCount > 0)
        {
            var gtTaken = new bool[gtCount];
            for (var t = 0; t < thresholds; t++)
            {
                Array.Clear(gtTaken);
                var start = Math.Min(iouThresholds[t], 1 - 1e-10);
                for (var d = 0; d < dtCount; d++)
                {
                    var best = start;
                    var m = -1;
                    var row = ious.Slice(d * gtCount, gtCount);
                    for (var g = 0; g < gtCount; g++)
                    {
                        // A ground truth already taken is skipped unless it is a crowd region (those absorb any number).
                        if (gtTaken[g] && !crowd[g])
                            continue;
                        // Once matched to a counted ground truth, the ignored ones (sorted last) cannot replace it.
                        if (m > -1 && !ignored[m] && ignored[g])
                            break;
                        var iou = row[order[g]];
                        if (iou < best)
                            continue;
                        // Ties go to the later ground truth, as in pycocotools (>=, not >).
                        best = iou;
                        m = g;
                    }
                    if (m == -1)
                        continue;
                    dtIgnored[t * dtCount + d] = ignored[m];
                    matched[t * dtCount + d] = ids[m] != 0;
                    gtTaken[m] = true;
                }
            }
        }

        var outcomes = new DetectionOutcome[thresholds * dtCount];
        for (var d = 0; d < dtCount; d++)
        {
            // Unmatched detections outside the area range do not count against precision.
            var outside = !range.Contains(detectionAreas[d]);
            for (var t = 0; t < thresholds; t++)
            {
                var i = t * dtCount + d;
                outcomes[i] = dtIgnored[i] || (outside && !matched[i]) ? DetectionOutcome.Ignored
                    : matched[i] ? DetectionOutcome.TruePositive
                    : DetectionOutcome.FalsePositive;
            }
        }
        return new CocoImageMatch(dtCount, outcomes, counted);
    }
}
