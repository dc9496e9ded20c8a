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
        // Each part reports its own (RPN anchors, then ROI samples, box classification, mask accuracy for StandardROIHeads).
        var statistics = new List<KeyValuePair<string, double>>();
        statistics.AddRange(rcnn.ProposalGenerator.TrainingStatistics);
        statistics.AddRange(rcnn.ROIHeads.TrainingStatistics);
        return statistics;
    }
}
