namespace D2.Detection.Data;

/// <summary>
/// Detectron2's MetadataCatalog entry of a dataset: class names by contiguous id, and for COCO json datasets the mapping
/// back to the json's category ids (needed to write results that pycocotools can evaluate).
/// </summary>
/// <param name="ThingClasses">class names, index = contiguous id</param>
/// <param name="ThingDatasetIdToContiguousId">json category id -> contiguous id (identity for VIA/custom data)</param>
/// <param name="JsonFile">the annotations file the dataset came from, if any</param>
/// <param name="ImageRoot">folder the images are read from</param>
public sealed record DatasetMetadata(string Name, IReadOnlyList<string> ThingClasses, IReadOnlyDictionary<int, int> ThingDatasetIdToContiguousId,
    string? JsonFile = null, string? ImageRoot = null);
