using D2.Detection.Evaluation;

namespace D2.Detection.Tests.Evaluation;

/// <summary>A small COCO ground truth and result list built in code, for hand-computed scenarios.</summary>
sealed class CocoCase
{
    readonly List<CocoImage> _images = [];
    readonly List<CocoCategory> _categories = [];
    readonly List<CocoAnnotation> _annotations = [];
    readonly List<CocoDetection> _detections = [];

    public CocoCase Image(long id, int height = 200, int width = 200)
    {
        _images.Add(new CocoImage(id, height, width));
        return this;
    }

    public CocoCase Category(long id, string? name = null)
    {
        _categories.Add(new CocoCategory(id, name ?? $"class{id}"));
        return this;
    }

    /// <param name="area">the annotation's area field; the box area when left out.</param>
    public CocoCase Truth(long imageId, long categoryId, double[] box, double? area = null, bool crowd = false, CocoSegmentation? mask = null, long? id = null)
    {
        _annotations.Add(new CocoAnnotation(id ?? _annotations.Count + 1, imageId, categoryId, area ?? box[2] * box[3], crowd, box, mask));
        return this;
    }

    public CocoCase Detection(long imageId, long categoryId, double[]? box, double score, CocoSegmentation? mask = null)
    {
        _detections.Add(new CocoDetection(imageId, categoryId, score, box, mask));
        return this;
    }

    public CocoDataset GroundTruth => new(_images, _categories, _annotations);

    public CocoEvaluation Evaluate(CocoIouType type = CocoIouType.Bbox)
    {
        var groundTruth = GroundTruth;
        return CocoEvaluator.Evaluate(groundTruth, new CocoResults(_detections, groundTruth), type);
    }

    public CocoMetrics Metrics(CocoIouType type = CocoIouType.Bbox)
    {
        var groundTruth = GroundTruth;
        return CocoMetrics.From(CocoEvaluator.Evaluate(groundTruth, new CocoResults(_detections, groundTruth), type), groundTruth);
    }

    /// <summary>[x, y, w, h].</summary>
    public static double[] Box(double x, double y, double w, double h) => [x, y, w, h];
}
