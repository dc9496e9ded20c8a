namespace D2.Detection.Data.Datasets;

/// <summary>Detectron2's filters on dataset records before training (<c>DATALOADER.FILTER_EMPTY_ANNOTATIONS</c>).</summary>
public static class DatasetFilters
{
    /// <summary>
    /// Detectron2's <c>filter_images_with_only_crowd_annotations</c>: drops images without any non-crowd annotation,
    /// since the mapper discards crowd regions and such an image has nothing to learn from.
    /// </summary>
    /// <param name="log">where the count of removed images goes (standard error when null)</param>
    public static List<DatasetRecord> FilterEmptyAnnotations(IEnumerable<DatasetRecord> records, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        var all = records as IReadOnlyCollection<DatasetRecord> ?? [.. records];
        var kept = all.Where(r => r.Annotations.Any(a => !a.IsCrowd)).ToList();
        new DatasetLog(log).Info($"Removed {all.Count - kept.Count} images with no usable annotations. {kept.Count} images left.");
        return kept;
    }
}
