using D2.Detection.Structures;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ROIHeads;

/// <summary>Detectron2's mask_rcnn_loss: per-pixel BCE between the gt class's mask logits and the cropped gt masks.</summary>
public static class MaskRCNNLoss
{
    /// <summary>
    /// The mask loss and the scalars Detectron2 logs with it (<c>mask_rcnn/accuracy</c>, <c>mask_rcnn/false_positive</c>,
    /// <c>mask_rcnn/false_negative</c>; none when there is no foreground ROI).
    /// </summary>
    /// <param name="predMaskLogits">(R_fg, K or 1, M, M) logits of all images' fg ROIs, in image order</param>
    /// <param name="instances">per image, its fg proposals: <c>proposal_boxes</c> (Boxes), <c>gt_classes</c> (int64, needed
    /// unless class-agnostic) and <c>gt_masks</c> (PolygonMasks or BitMasks, one per proposal)</param>
    /// <returns>a scalar loss (mean over all R_fg * M * M pixels; <c>0 * sum(logits)</c> without fg ROIs) and the metrics</returns>
    public static (Tensor Loss, IReadOnlyDictionary<string, double> Metrics) Compute(Tensor predMaskLogits, IReadOnlyList<Instances> instances)
    {
        ArgumentNullException.ThrowIfNull(predMaskLogits);
        ArgumentNullException.ThrowIfNull(instances);
        if (predMaskLogits.dim() != 4 || predMaskLogits.shape[2] != predMaskLogits.shape[3])
            throw new ArgumentException(
                $"Mask logits must be (R, K, M, M) with square masks; got shape {Selection.Shape(predMaskLogits)}.", nameof(predMaskLogits));
        var clsAgnostic = predMaskLogits.shape[1] == 1;
        var maskSide = (int)predMaskLogits.shape[2];

        using var scope = NewDisposeScope();
        var gtClasses = new List<Tensor>();
        var gtMasks = new List<Tensor>();
        foreach (var image in instances)
        {
            if (image.FieldNames.Count == 0 || image.Length == 0)
                continue;
            if (!clsAgnostic)
                gtClasses.Add(image.Get<Tensor>("gt_classes").to(ScalarType.Int64));
            var boxes = image.Get<Boxes>("proposal_boxes").Tensor;
            var cropped = image.Get("gt_masks") switch
            {
                PolygonMasks polygons => polygons.CropAndResize(boxes, maskSide),
                BitMasks bitmasks => bitmasks.CropAndResize(boxes, maskSide),
                var other => throw new ArgumentException(
                    $"Field 'gt_masks' must hold PolygonMasks or BitMasks; got {other.GetType().Name}.", nameof(instances)),
            };
            gtMasks.Add(cropped.to(predMaskLogits.device));
        }

        if (gtMasks.Count == 0)
        {
            // Keeps the head in the graph, so that every parameter still receives a (zero) gradient.
            var empty = predMaskLogits.sum().mul(Zero).MoveToOuterDisposeScope();
            return (empty, new Dictionary<string, double>());
        }

        var targetsBool = cat(gtMasks, 0);
        var total = predMaskLogits.shape[0];
        if (targetsBool.shape[0] != total)
            throw new ArgumentException(
                $"The images hold {targetsBool.shape[0]} fg proposals but there are {total} mask predictions.", nameof(instances));
        var logits = clsAgnostic
            ? predMaskLogits[.., 0]
            : predMaskLogits.gather(1, cat(gtClasses, 0).to(predMaskLogits.device).view(-1, 1, 1, 1)
                .expand(-1, 1, maskSide, maskSide)).squeeze(1);

        var metrics = Metrics(logits.detach(), targetsBool);
        // Detectron2 casts targets to float32; here they follow the logits' dtype so float64 runs stay float64.
        var targets = targetsBool.to(logits.dtype);
        var loss = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction: nn.Reduction.Mean);
        return (loss.MoveToOuterDisposeScope(), metrics);
    }

    /// <summary>Pixel accuracy at logit &gt; 0 (probability 0.5), and the error rates over gt-off and gt-on pixels.</summary>
    static Dictionary<string, double> Metrics(Tensor logits, Tensor targets)
    {
        using var scope = NewDisposeScope();
        var incorrect = logits.gt(ZeroFloat).ne(targets);
        double pixels = incorrect.numel();
        double positives = targets.sum().item<long>();
        var wrong = (double)incorrect.sum().item<long>();
        var falsePositives = (double)(incorrect & targets.logical_not()).sum().item<long>();
        var falseNegatives = (double)(incorrect & targets).sum().item<long>();
        return new Dictionary<string, double>
        {
            ["mask_rcnn/accuracy"] = 1 - wrong / Math.Max(pixels, 1.0),
            ["mask_rcnn/false_positive"] = falsePositives / Math.Max(pixels - positives, 1.0),
            ["mask_rcnn/false_negative"] = falseNegatives / Math.Max(positives, 1.0),
        };
    }
}
