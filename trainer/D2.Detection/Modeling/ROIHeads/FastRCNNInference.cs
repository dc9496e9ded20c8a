using D2.Detection.Layers;
using D2.Detection.Structures;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ROIHeads;

/// <summary>
/// Detectron2's fast_rcnn_inference: per image, score thresholding over (ROI, class) pairs, per-class NMS and top-k,
/// turning the box predictor's decoded boxes and class probabilities into detections.
/// </summary>
public static class FastRCNNInference
{
    /// <summary>Runs <see cref="SingleImage"/> on every image.</summary>
    /// <param name="boxes">per image, (R_i, K * 4) class-specific or (R_i, 4) class-agnostic decoded boxes</param>
    /// <param name="scores">per image, (R_i, K + 1) class probabilities, background last</param>
    /// <param name="imageShapes">per image, the (height, width) the boxes are clipped to</param>
    public static (List<Instances> Instances, List<Tensor> KeptIndices) Run(IReadOnlyList<Tensor> boxes, IReadOnlyList<Tensor> scores,
        IReadOnlyList<(int Height, int Width)> imageShapes, double scoreThreshold, double nmsThreshold, int topkPerImage)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(imageShapes);
        if (boxes.Count != scores.Count || boxes.Count != imageShapes.Count)
            throw new ArgumentException(
                $"Need one boxes, scores and image shape per image; got {boxes.Count}, {scores.Count} and {imageShapes.Count}.");
        var instances = new List<Instances>(boxes.Count);
        var kept = new List<Tensor>(boxes.Count);
        for (var i = 0; i < boxes.Count; i++)
        {
            var (result, indices) = SingleImage(boxes[i], scores[i], imageShapes[i], scoreThreshold, nmsThreshold, topkPerImage);
            instances.Add(result);
            kept.Add(indices);
        }
        return (instances, kept);
    }

    /// <summary>
    /// Detectron2's fast_rcnn_inference_single_image: drops rows with a non-finite box or score, clips the boxes, keeps
    /// (ROI, class) pairs whose score is strictly above <paramref name="scoreThreshold"/>, suppresses within each class
    /// (IoU &gt; <paramref name="nmsThreshold"/>) and keeps the <paramref name="topkPerImage"/> best.
    /// </summary>
    /// <param name="boxes">(R, K * 4) class-specific or (R, 4) class-agnostic decoded boxes, XYXY</param>
    /// <param name="scores">(R, K + 1) class probabilities; the last column (background) never yields a detection</param>
    /// <param name="imageShape">(height, width) the boxes are clipped to</param>
    /// <param name="topkPerImage">detections kept per image; negative keeps all</param>
    /// <returns>detections (<c>pred_boxes</c> Boxes, <c>scores</c>, <c>pred_classes</c> int64), by decreasing score, and for each
    /// the row of <paramref name="boxes"/> it came from</returns>
    public static (Instances Instances, Tensor KeptIndices) SingleImage(Tensor boxes, Tensor scores, (int Height, int Width) imageShape,
        double scoreThreshold, double nmsThreshold, int topkPerImage)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.dim() != 2 || scores.shape[1] < 2)
            throw new ArgumentException($"scores must be (R, K + 1) with K >= 1; got shape {Selection.Shape(scores)}.", nameof(scores));
        var numClasses = scores.shape[1] - 1;
        if (boxes.dim() != 2 || boxes.shape[0] != scores.shape[0] || (boxes.shape[1] != 4 && boxes.shape[1] != 4 * numClasses))
            throw new ArgumentException(
                $"boxes must be ({scores.shape[0]}, {4 * numClasses}) or ({scores.shape[0]}, 4) for {numClasses} classes; got shape {Selection.Shape(boxes)}.",
                nameof(boxes));

        using var scope = NewDisposeScope();
        var valid = boxes.isfinite().all(1) & scores.isfinite().all(1);
        // Detectron2 returns indices into the rows left after this filter; mapping them back keeps them valid for the input.
        var validRows = valid.nonzero().squeeze(1);
        boxes = boxes.index_select(0, validRows);
        scores = scores.index_select(0, validRows)[.., ..(int)numClasses];

        var numRegClasses = boxes.shape[1] / 4;
        var clipped = new Boxes(boxes.reshape(-1, 4));
        clipped.Clip(imageShape);
        var perClass = clipped.Tensor.view(-1, numRegClasses, 4);

        using var threshold = scoreThreshold.ToScalar();
        var passing = scores.gt(threshold);
        // (R', 2) row and class of each surviving pair, in row-major order like the boolean selections below.
        var pairs = passing.nonzero();
        var rows = pairs[.., 0];
        var classes = pairs[.., 1];
        var candidateBoxes = numRegClasses == 1
            ? perClass[.., 0].index_select(0, rows)
            : perClass.masked_select(passing.unsqueeze(-1)).view(-1, 4);
        var candidateScores = scores.masked_select(passing);

        var keep = NMS.BatchedNMS(candidateBoxes, candidateScores, classes, nmsThreshold);
        if (topkPerImage >= 0 && keep.shape[0] > topkPerImage)
            keep = keep[..topkPerImage];

        var result = new Instances(imageShape);
        result.Set("pred_boxes", new Boxes(candidateBoxes.index_select(0, keep)));
        result.Set("scores", candidateScores.index_select(0, keep));
        result.Set("pred_classes", classes.index_select(0, keep));
        var keptRows = validRows.index_select(0, rows.index_select(0, keep));
        result.MoveToOuterDisposeScope();
        return (result, keptRows.MoveToOuterDisposeScope());
    }
}
