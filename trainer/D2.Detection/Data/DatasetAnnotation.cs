using D2.Detection.Structures;

namespace D2.Detection.Data;

/// <summary>
/// One instance of a <see cref="DatasetRecord"/>. The box is stored as absolute XYXY (Detectron2's BoxMode.XYXY_ABS;
/// COCO's XYWH boxes are converted when loading). The mask is either polygons or an RLE, never both.
/// </summary>
/// <param name="BboxXyxy">x0, y0, x1, y1 in original-image pixels</param>
/// <param name="CategoryId">contiguous class index in [0, K)</param>
/// <param name="IsCrowd">COCO's iscrowd: crowd regions are dropped for training, kept for evaluation</param>
/// <param name="Polygons">each a flat x0, y0, x1, y1, ... list with an even count of at least 6</param>
/// <param name="Mask">a COCO RLE at the original image size</param>
public sealed record DatasetAnnotation(double[] BboxXyxy, int CategoryId, bool IsCrowd = false,
    IReadOnlyList<double[]>? Polygons = null, Rle? Mask = null);
