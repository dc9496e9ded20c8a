namespace D2.Detection.Evaluation;

/// <summary>An entry of a COCO file's <c>images</c>; height and width (optional until a polygon or box must be
/// rasterised for segm evaluation) size the masks of polygon annotations.</summary>
public sealed record CocoImage(long Id, int? Height = null, int? Width = null, string? FileName = null);

/// <summary>An entry of a COCO file's <c>categories</c>. Ids are the dataset's own (COCO's 1..90 with gaps).</summary>
public sealed record CocoCategory(long Id, string Name);

/// <summary>A ground-truth instance. <paramref name="Area"/> is the file's <c>area</c> field: pycocotools uses it
/// (not the box or mask area) to place an instance in the small/medium/large ranges.</summary>
/// <param name="Bbox">[x, y, width, height]; needed for bbox evaluation.</param>
/// <param name="Segmentation">polygons or RLE; needed for segm evaluation.</param>
public sealed record CocoAnnotation(
    long Id, long ImageId, long CategoryId, double Area, bool IsCrowd, double[]? Bbox, CocoSegmentation? Segmentation = null);

/// <summary>One entry of a COCO results file, as written by Detectron2's COCOEvaluator
/// (<c>coco_instances_results.json</c>): a scored box and/or mask for one image and category.</summary>
/// <param name="Bbox">[x, y, width, height] in image pixels.</param>
/// <param name="Segmentation">usually compressed RLE (<c>{"size":[h,w],"counts":"..."}</c>).</param>
public sealed record CocoDetection(long ImageId, long CategoryId, double Score, double[]? Bbox = null, CocoSegmentation? Segmentation = null);
