namespace D2.Detection.Evaluation;

/// <summary>Box IoU exactly as pycocotools' <c>bbIou</c> (maskApi.c): boxes are [x, y, w, h], a pair that does not
/// overlap in x or y has IoU 0, and for a crowd ground truth the union is the detection's own area
/// (so a detection inside a crowd region has IoU 1).</summary>
internal static class CocoBoxIou
{
    /// <returns>[d * gts.Count + g] for detection d, ground truth g.</returns>
    public static double[] Compute(IReadOnlyList<double[]> detections, IReadOnlyList<double[]> groundTruths, IReadOnlyList<bool> isCrowd)
    {
        var iou = new double[detections.Count * groundTruths.Count];
        for (var g = 0; g < groundTruths.Count; g++)
        {
            var gt = groundTruths[g];
            var gtArea = gt[2] * gt[3];
            var crowd = isCrowd[g];
            for (var d = 0; d < detections.Count; d++)
            {
                var dt = detections[d];
                var dtArea = dt[2] * dt[3];
                // Same operation order as the C code, so values at a threshold compare the same way.
                var w = Math.Min(dt[2] + dt[0], gt[2] + gt[0]) - Math.Max(dt[0], gt[0]);
                if (w <= 0)
                    continue;
                var h = Math.Min(dt[3] + dt[1], gt[3] + gt[1]) - Math.Max(dt[1], gt[1]);
                if (h <= 0)
                    continue;
                var intersection = w * h;
                var union = crowd ? dtArea : dtArea + gtArea - intersection;
                iou[d * groundTruths.Count + g] = intersection / union;
            }
        }
        return iou;
    }
}
