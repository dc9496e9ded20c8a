using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Detection.Engine;

/// <summary>
/// The sampling statistics Detectron2's model puts into the event storage during a training forward, read here from
/// the model after the forward, in Detectron2's order: RPN anchors, ROI samples, box classification, mask accuracy.
/// </summary>
public static class TrainingStatistics
{
    /// <returns>the scalars of the last training forward; none for models other than <see cref="GeneralizedRCNN"/></returns>
    public static IReadOnlyList<KeyValuePair<string, double>> Collect(nn.Module model)
    {
        if (model is not GeneralizedRCNN rcnn)
            return [];
        var statistics = new List<KeyValuePair<string, double>>();
        var (positive, negative) = rcnn.ProposalGenerator.LastAnchorCounts;
        statistics.Add(new("rpn/num_pos_anchors", positive));
        statistics.Add(new("rpn/num_neg_anchors", negative));
        var (foreground, background) = rcnn.RoiHeads.LastSampleCounts;
        statistics.Add(new("roi_head/num_fg_samples", foreground));
        statistics.Add(new("roi_head/num_bg_samples", background));
        statistics.AddRange(rcnn.RoiHeads.BoxPredictor.LastStatistics);
        if (rcnn.RoiHeads.MaskOn)
            statistics.AddRange(rcnn.RoiHeads.LastMaskStatistics);
        return statistics;
    }
}
