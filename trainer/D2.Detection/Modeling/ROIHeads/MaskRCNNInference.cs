using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ROIHeads;

/// <summary>Detectron2's mask_rcnn_inference: soft masks of each detection's predicted class.</summary>
public static class MaskRCNNInference
{
    /// <summary>
    /// Sets <c>pred_masks</c>, (R_i, 1, M, M) probabilities, on each image's detections: the sigmoid of the channel of
    /// <c>pred_classes</c>, or of channel 0 when the head is class-agnostic. Pasting into the image is left to
    /// <see cref="Postprocessing.PasteMasksInImage"/>.
    /// </summary>
    /// <param name="predMaskLogits">(R, K or 1, M, M) logits of all images' detections, in image order</param>
    /// <param name="predInstances">per image, its detections with <c>pred_classes</c> (int64); R = sum of their lengths</param>
    public static void Apply(Tensor predMaskLogits, IReadOnlyList<Instances> predInstances)
    {
        ArgumentNullException.ThrowIfNull(predMaskLogits);
        ArgumentNullException.ThrowIfNull(predInstances);
        if (predMaskLogits.dim() != 4)
            throw new ArgumentException($"Mask logits must be (R, K, M, M); got shape {Selection.Shape(predMaskLogits)}.", nameof(predMaskLogits));
        var counts = predInstances.Select(i => i.FieldNames.Count == 0 ? 0 : i.Length).ToArray();
        if (counts.Sum() != predMaskLogits.shape[0])
            throw new ArgumentException(
                $"The images hold {counts.Sum()} detections but there are {predMaskLogits.shape[0]} mask predictions.", nameof(predInstances));

        using var scope = NewDisposeScope();
        Tensor probabilities;
        if (predMaskLogits.shape[1] == 1)
        {
            probabilities = predMaskLogits.sigmoid();
        }
        else
        {
            var classes = counts.Sum() == 0
                ? zeros(0, ScalarType.Int64, predMaskLogits.device)
                : cat(predInstances.Where((_, i) => counts[i] > 0)
                    .Select(i => i.Get<Tensor>("pred_classes").to(ScalarType.Int64).to(predMaskLogits.device)).ToList(), 0);
            var (m1, m2) = (predMaskLogits.shape[2], predMaskLogits.shape[3]);
            probabilities = predMaskLogits.gather(1, classes.view(-1, 1, 1, 1).expand(-1, 1, m1, m2)).sigmoid();
        }

        long start = 0;
        for (var i = 0; i < predInstances.Count; i++)
        {
            var perImage = probabilities.narrow(0, start, counts[i]);
            start += counts[i];
            predInstances[i].Set("pred_masks", perImage.MoveToOuterDisposeScope());
        }
    }
}
