namespace D2.Detection.Data;

/// <summary>
/// One image of a dataset, as Detectron2's "dataset dicts" describe it: the file, its original size, its id and its
/// annotations. Loaders (COCO json, VIA json) produce these; the dataset mapper turns them into model inputs.
/// </summary>
/// <param name="FileName">absolute path of the image file</param>
/// <param name="Height">original image height in pixels</param>
/// <param name="Width">original image width in pixels</param>
/// <param name="ImageId">the dataset's image id (COCO "id"; an index for VIA)</param>
public sealed record DatasetRecord(string FileName, int Height, int Width, long ImageId, IReadOnlyList<DatasetAnnotation> Annotations);
