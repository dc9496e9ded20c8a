using D2.Detection.Data;
using D2.Detection.Data.Datasets;

namespace D2.Detection.Tests.Datasets;

/// <summary>DATALOADER.FILTER_EMPTY_ANNOTATIONS: Detectron2's filter_images_with_only_crowd_annotations.</summary>
public class DatasetFiltersTests
{
    static DatasetRecord Image(long id, params bool[] crowdFlags) =>
        new($"/data/{id}.jpg", 10, 10, id, [.. crowdFlags.Select(crowd => new DatasetAnnotation([0, 0, 1, 1], 0, crowd))]);

    [Test]
    public void FilterEmptyAnnotations_keeps_only_images_with_a_non_crowd_annotation_and_logs_the_count()
    {
        var log = new StringWriter();
        DatasetRecord[] records = [Image(1), Image(2, true), Image(3, true, false), Image(4, false)];

        var kept = DatasetFilters.FilterEmptyAnnotations(records, log);

        Assert.That(kept.Select(r => r.ImageId), Is.EqualTo(new long[] { 3, 4 }));
        Assert.That(log.ToString(), Does.Contain("Removed 2 images with no usable annotations. 2 images left."));
    }
}
