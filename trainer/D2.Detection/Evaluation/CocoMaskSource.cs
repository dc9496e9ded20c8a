using D2.Detection.Structures;

namespace D2.Detection.Evaluation;

/// <summary>Masks of ground truths and detections as RLE, made on first use (pycocotools' <c>_toMask</c> in
/// <c>_prepare</c>), with segm IoU, mask areas and mask boxes. Each index belongs to one (image, category) cell,
/// so cells of different categories can be evaluated in parallel.</summary>
internal sealed class CocoMaskSource(CocoDataset groundTruth, CocoResults results)
{
    readonly Rle?[] _groundTruthMasks = new Rle?[groundTruth.Annotations.Count];
    readonly Rle?[] _detectionMasks = new Rle?[results.Detections.Count];

    public Rle GroundTruth(int g)
    {
        if (_groundTruthMasks[g] is { } mask)
            return mask;
        var annotation = groundTruth.Annotations[g];
        var segmentation = annotation.Segmentation ?? throw new CocoFormatException(groundTruth.Source,
            $"annotation id {annotation.Id} has no \"segmentation\", which segm evaluation needs");
        return _groundTruthMasks[g] = Rasterise(segmentation, annotation.ImageId, groundTruth.Source, $"annotation id {annotation.Id}");
    }

    public Rle Detection(int d)
    {
        if (_detectionMasks[d] is { } mask)
            return mask;
        var detection = results.Detections[d];
        var segmentation = detection.Segmentation ?? throw new CocoFormatException(results.Source,
            $"entry [{d}] has no \"segmentation\", which segm evaluation needs");
        return _detectionMasks[d] = Rasterise(segmentation, detection.ImageId, results.Source, $"entry [{d}]");
    }

    /// <summary>loadRes' <c>maskUtils.area</c>: the number of mask pixels.</summary>
    public double DetectionArea(int d) => Detection(d).Area();

    /// <summary>loadRes' <c>maskUtils.toBbox</c> for a result without a box.</summary>
    public double[] DetectionBox(int d) => Detection(d).ToBbox();

    /// <returns>[d * G + g] for the given detections and ground truths.</returns>
    public double[] Ious(int[] detections, int[] groundTruths, bool[] isCrowd)
    {
        var matrix = Rle.Iou([.. detections.Select(Detection)], [.. groundTruths.Select(GroundTruth)], isCrowd);
        var flat = new double[detections.Length * groundTruths.Length];
        for (var d = 0; d < detections.Length; d++)
        for (var g = 0; g < groundTruths.Length; g++)
            flat[d * groundTruths.Length + g] = matrix[d, g];
        return flat;
    }

    Rle Rasterise(CocoSegmentation segmentation, long imageId, string source, string what)
    {
        var image = groundTruth.Image(imageId);
        if (image.Height is not { } height || image.Width is not { } width)
            throw new CocoFormatException(groundTruth.Source, $"image id {imageId} has no \"height\" and \"width\", which segm evaluation needs");
        try
        {
            return segmentation.ToRle(height, width);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new CocoFormatException(source, $"{what} has an unusable segmentation: {e.Message}", e);
        }
    }
}
