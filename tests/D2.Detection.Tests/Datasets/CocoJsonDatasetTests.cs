using D2.Detection.Data.Datasets;
using D2.Detection.Structures;

namespace D2.Detection.Tests.Datasets;

/// <summary>Detectron2's load_coco_json semantics on hand-written COCO files.</summary>
public class CocoJsonDatasetTests
{
    // Category ids 1, 5, 90 (COCO-style gaps, listed out of order); images listed out of id order; image 7 has a
    // polygon, a crowd region as uncompressed RLE and an instance as compressed RLE (placeholder filled per test).
    const string Dataset = """
        {"images": [{"id": 7, "file_name": "b.jpg", "height": 40, "width": 60},
                    {"id": 3, "file_name": "sub/a.jpg", "height": 20, "width": 30}],
         "categories": [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}, {"id": 5, "name": "airplane"}],
         "annotations": [
           {"id": 11, "image_id": 7, "category_id": 90, "bbox": [10, 20, 5, 8], "iscrowd": 0,
            "segmentation": [[10, 20, 15, 20, 15, 28, 10, 28]]},
           {"id": 12, "image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 1], "iscrowd": 1,
            "segmentation": {"size": [40, 60], "counts": [0, 5, 2395]}},
           {"id": 13, "image_id": 3, "category_id": 5, "bbox": [1.5, 2.5, 3, 4], "iscrowd": 0,
            "segmentation": {"size": [20, 30], "counts": "COMPRESSED"}}]}
        """;

    DatasetFolder _folder = null!;
    StringWriter _log = null!;

    [SetUp]
    public void CreateFolder()
    {
        _folder = new DatasetFolder();
        _log = new StringWriter();
    }

    [TearDown]
    public void DeleteFolder()
    {
        _folder.Dispose();
        _log.Dispose();
    }

    static readonly Rle CompressedMask = new(20, 30, [2, 3, 595]);

    (List<Data.DatasetRecord> Records, Data.DatasetMetadata Metadata) Load(string json, string datasetName = "my_dataset") =>
        CocoJsonDataset.Load(_folder.Write("instances.json", json), _folder.PathOf("images"), datasetName, _log);

    string WithCompressedMask => Dataset.Replace("COMPRESSED", CompressedMask.ToCompressedString(), StringComparison.Ordinal);

    [Test]
    public void Load_maps_sorted_category_ids_to_contiguous_ids_and_names_classes_in_id_order()
    {
        var (records, metadata) = Load(WithCompressedMask);

        Assert.That(metadata.ThingClasses, Is.EqualTo(new[] { "person", "airplane", "toothbrush" }));
        Assert.That(metadata.ThingDatasetIdToContiguousId, Is.EquivalentTo(new Dictionary<int, int> { [1] = 0, [5] = 1, [90] = 2 }));
        Assert.That(records.SelectMany(r => r.Annotations).Select(a => a.CategoryId), Is.EqualTo(new[] { 1, 2, 0 }));
        Assert.That((metadata.Name, metadata.JsonFile), Is.EqualTo(("my_dataset", _folder.PathOf("instances.json"))));
        // Detectron2 warns about the remapping for datasets whose ids are not 1..K, except COCO itself.
        Assert.That(_log.ToString(), Does.Contain("Category ids in annotations are not in [1, #categories]"));
    }

    [Test]
    public void Load_does_not_warn_about_category_ids_of_a_coco_named_dataset()
    {
        Load(WithCompressedMask, "coco_2017_val");

        Assert.That(_log.ToString(), Does.Not.Contain("Category ids"));
    }

    [Test]
    public void Load_sorts_images_by_id_joins_file_names_with_the_image_root_and_converts_xywh_to_xyxy()
    {
        var (records, _) = Load(WithCompressedMask);

        Assert.That(records.Select(r => (r.ImageId, r.Height, r.Width)), Is.EqualTo(new[] { (3L, 20, 30), (7L, 40, 60) }));
        Assert.That(records[0].FileName, Is.EqualTo(Path.Combine(_folder.Root, "images", "sub", "a.jpg")));
        Assert.That(records[0].Annotations[0].BboxXyxy, Is.EqualTo(new[] { 1.5, 2.5, 4.5, 6.5 }));
        Assert.That(records[1].Annotations[0].BboxXyxy, Is.EqualTo(new double[] { 10, 20, 15, 28 }));
        Assert.That(_log.ToString(), Does.Contain("Loaded 2 images in COCO format from"));
    }

    [Test]
    public void Load_keeps_polygons_rle_in_both_forms_and_crowd_regions()
    {
        var (records, _) = Load(WithCompressedMask);
        var polygon = records[1].Annotations[0];
        var crowd = records[1].Annotations[1];
        var compressed = records[0].Annotations[0];

        Assert.That((polygon.IsCrowd, polygon.Mask), Is.EqualTo((false, (Rle?)null)));
        Assert.That(polygon.Polygons, Is.EqualTo(new[] { new double[] { 10, 20, 15, 20, 15, 28, 10, 28 } }));
        Assert.That(crowd.IsCrowd, Is.True);
        Assert.That(crowd.Polygons, Is.Null);
        Assert.That((crowd.Mask!.Height, crowd.Mask.Width, crowd.Mask.Counts), Is.EqualTo((40, 60, new uint[] { 0, 5, 2395 })));
        Assert.That(compressed.Mask!.Counts, Is.EqualTo(CompressedMask.Counts));
        Assert.That(compressed.Mask.Area(), Is.EqualTo(3));
    }

    [Test]
    public void Load_drops_invalid_polygons_and_an_annotation_left_without_any_naming_its_id()
    {
        const string json = """
            {"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}],
             "categories": [{"id": 1, "name": "thing"}],
             "annotations": [
               {"id": 21, "image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "segmentation": [[0, 0, 4, 0, 4]]},
               {"id": 22, "image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "segmentation": [[0, 0, 4, 4], [0, 0, 4, 0, 4, 4]]},
               {"id": 23, "image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "segmentation": []}]}
            """;

        var (records, _) = Load(json);

        var annotations = records[0].Annotations;
        Assert.That(annotations, Has.Count.EqualTo(2));
        Assert.That(annotations[0].Polygons, Is.EqualTo(new[] { new double[] { 0, 0, 4, 0, 4, 4 } }));
        // An empty list is "no segmentation" in Detectron2 (`if segm:`): the box-only instance stays.
        Assert.That((annotations[1].Polygons, annotations[1].Mask), Is.EqualTo(((IReadOnlyList<double[]>?)null, (Rle?)null)));
        Assert.That(_log.ToString(), Does.Contain("WARNING").And.Contain("annotation id 21").And.Not.Contain("annotation id 22"));
        Assert.That(_log.ToString(), Does.Contain("Filtered out 1 instances without valid segmentation"));
    }

    [Test]
    public void Load_warns_about_annotations_of_images_not_in_the_file()
    {
        const string json = """
            {"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}],
             "categories": [{"id": 1, "name": "thing"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]},
                             {"id": 2, "image_id": 9, "category_id": 1, "bbox": [0, 0, 1, 1]}]}
            """;

        var (records, _) = Load(json);

        Assert.That(records[0].Annotations, Has.Count.EqualTo(1));
        Assert.That(_log.ToString(), Does.Contain("contains 2 annotations, but only 1 of them match to images in the file"));
    }

    [TestCase("""{"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "ignore": 1}""", "\"ignore\" in COCO json files is not supported")]
    [TestCase("""{"id": 5, "image_id": 1, "category_id": 1, "bbox": []}""", "annotations[0].bbox must be [x, y, width, height], found 0 numbers")]
    [TestCase("""{"id": 5, "image_id": 1, "category_id": 4, "bbox": [0, 0, 1, 1]}""", "annotations[0] (id 5) has category_id 4, which is not in \"categories\"")]
    [TestCase("""{"id": 5, "image_id": 1, "category_id": 1}""", "annotations[0] has no \"bbox\" field")]
    public void Load_rejects_an_unusable_annotation_naming_the_file(string annotation, string message)
    {
        var json = $$"""
            {"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}],
             "categories": [{"id": 1, "name": "thing"}], "annotations": [{{annotation}}]}
            """;

        var error = Assert.Throws<DatasetException>(() => Load(json));

        Assert.That(error.Message, Does.StartWith(_folder.PathOf("instances.json")).And.Contain(message));
    }

    [Test]
    public void Load_rejects_repeated_annotation_ids()
    {
        const string json = """
            {"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}], "categories": [{"id": 1, "name": "thing"}],
             "annotations": [{"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}, {"id": 4, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]}
            """;

        var error = Assert.Throws<DatasetException>(() => Load(json));

        Assert.That(error.Message, Does.Contain("annotation ids are not unique").And.Contain("repeats id 4"));
    }

    [Test]
    public void Load_names_a_missing_file()
    {
        var path = _folder.PathOf("absent.json");

        var error = Assert.Throws<DatasetException>(() => CocoJsonDataset.Load(path, _folder.Root, "x", _log));

        Assert.That(error.Message, Is.EqualTo($"{path}: file not found"));
        Assert.That(error.SourceName, Is.EqualTo(path));
    }

    [Test]
    public void Load_names_malformed_json_with_its_line()
    {
        var path = _folder.Write("broken.json", "{\"images\": [\n  {\"id\": 1,, }\n]}");

        var error = Assert.Throws<DatasetException>(() => CocoJsonDataset.Load(path, _folder.Root, "x", _log));

        Assert.That(error.Message, Does.StartWith(path).And.Contain("not valid JSON (line 2"));
    }

    [Test]
    public void Load_names_a_missing_field_and_where_it_is_missing()
    {
        const string json = """{"images": [{"id": 1, "file_name": "a.jpg", "width": 10}], "categories": []}""";

        var error = Assert.Throws<DatasetException>(() => Load(json));

        Assert.That(error.Message, Is.EqualTo($"{_folder.PathOf("instances.json")}: images[0] has no \"height\" field"));
    }
}
