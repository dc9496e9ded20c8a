using D2.Detection.Evaluation;

namespace D2.Detection.Tests.Evaluation;

/// <summary>Reading COCO ground-truth and results JSON, and the errors for files that cannot be used.</summary>
public class CocoFileTests
{
    const string GroundTruth = """
        {"images": [{"id": 9, "height": 40, "width": 60, "file_name": "a.jpg"}, {"id": 2, "height": 40, "width": 60}],
         "categories": [{"id": 7, "name": "cat"}, {"id": 3, "name": "dog"}],
         "annotations": [
           {"id": 1, "image_id": 9, "category_id": 7, "bbox": [1, 2, 3, 4], "area": 12.5, "iscrowd": 0,
            "segmentation": [[1, 2, 4, 2, 4, 6]]},
           {"id": 2, "image_id": 2, "category_id": 3, "bbox": [0, 0, 5, 5], "area": 25, "iscrowd": 1,
            "segmentation": {"size": [40, 60], "counts": [0, 5, 2395]}}]}
        """;

    string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("d2-coco-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Test]
    public void Load_reads_images_categories_and_annotations_with_sorted_ids()
    {
        var dataset = CocoDataset.Load(Write("gt.json", GroundTruth));

        Assert.That(dataset.ImageIds, Is.EqualTo(new long[] { 2, 9 }));
        Assert.That(dataset.CategoryIds, Is.EqualTo(new long[] { 3, 7 }));
        Assert.That(dataset.Image(9), Is.EqualTo(new CocoImage(9, 40, 60, "a.jpg")));
        var crowd = dataset.Annotations[1];
        Assert.That((crowd.IsCrowd, crowd.Area, crowd.CategoryId), Is.EqualTo((true, 25.0, 3L)));
        Assert.That(crowd.Segmentation!.ToRle(40, 60).Area(), Is.EqualTo(5));
    }

    [Test]
    public void Load_names_a_missing_file()
    {
        var path = Path.Combine(_directory, "absent.json");
        var error = Assert.Throws<CocoFormatException>(() => CocoDataset.Load(path));
        Assert.That(error!.Message, Does.StartWith(path).And.Contain("not found"));
    }

    [Test]
    public void Load_reports_the_line_and_position_of_invalid_json()
    {
        var path = Write("broken.json", "{\"images\": [\n  {\"id\": 1,}\n]}");
        var error = Assert.Throws<CocoFormatException>(() => CocoDataset.Load(path));
        Assert.That(error!.Message, Does.StartWith(path).And.Contain("not valid JSON").And.Contain("line 2"));
    }

    [TestCase("""{"images": [{"height": 4}]}""", "images[0] has no \"id\" field")]
    [TestCase("""{"images": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "bbox": [0, 0, 1, 1], "area": 1}]}""", "annotations[0] has no \"category_id\" field")]
    [TestCase("""{"images": [{"id": 1}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1], "area": 1}]}""", "annotations[0].bbox must be [x, y, width, height]")]
    [TestCase("""{"images": [{"id": "one"}]}""", "images[0].id must be an integer id, found the string \"one\"")]
    [TestCase("""{"annotations": []}""", "has no \"images\" field")]
    [TestCase("""[1, 2]""", "must be a COCO JSON object")]
    public void Load_names_the_missing_or_malformed_field(string json, string problem)
    {
        var path = Write("gt.json", json);
        var error = Assert.Throws<CocoFormatException>(() => CocoDataset.Load(path));
        Assert.That(error!.Message, Does.StartWith(path).And.Contain(problem));
    }

    [Test]
    public void Load_rejects_an_annotation_of_an_unknown_image()
    {
        var path = Write("gt.json", """{"images": [{"id": 1}], "annotations": [{"id": 4, "image_id": 2, "category_id": 1, "area": 1}]}""");
        var error = Assert.Throws<CocoFormatException>(() => CocoDataset.Load(path));
        Assert.That(error!.Message, Does.Contain("annotations[0] (id 4) refers to image id 2"));
    }

    [Test]
    public void Results_for_an_image_outside_the_ground_truth_are_rejected_as_pycocotools_does()
    {
        var dataset = CocoDataset.Parse(GroundTruth, "gt.json");
        var path = Write("dt.json", """[{"image_id": 9, "category_id": 7, "bbox": [1, 2, 3, 4], "score": 0.5}, {"image_id": 5, "category_id": 7, "bbox": [1, 2, 3, 4], "score": 0.5}]""");
        var error = Assert.Throws<CocoFormatException>(() => CocoResults.Load(path, dataset));
        Assert.That(error!.Message, Does.StartWith(path).And.Contain("do not correspond").And.Contain("image_id 5"));
    }

    [Test]
    public void Results_take_their_kind_from_the_first_entry()
    {
        var dataset = CocoDataset.Parse(GroundTruth);
        var boxes = CocoResults.Parse("""[{"image_id": 9, "category_id": 7, "bbox": [1, 2, 3, 4], "score": 0.5}]""", dataset);
        var masks = CocoResults.Parse("""[{"image_id": 9, "category_id": 7, "segmentation": {"size": [40, 60], "counts": "05kZ2"}, "score": 0.5}]""", dataset);
        Assert.That((boxes.IsBoxResults, boxes.HasSegmentation), Is.EqualTo((true, false)));
        Assert.That((masks.IsBoxResults, masks.HasSegmentation), Is.EqualTo((false, true)));

        var error = Assert.Throws<CocoFormatException>(() => CocoResults.Parse(
            """[{"image_id": 9, "category_id": 7, "bbox": [1, 2, 3, 4], "score": 0.5}, {"image_id": 9, "category_id": 7, "score": 0.5}]""", dataset, "dt.json"));
        Assert.That(error!.Message, Does.StartWith("dt.json").And.Contain("entry [1] has no bbox"));
    }

    [Test]
    public void Results_must_be_a_list()
    {
        var dataset = CocoDataset.Parse(GroundTruth);
        var error = Assert.Throws<CocoFormatException>(() => CocoResults.Parse("""{"image_id": 9}""", dataset, "dt.json"));
        Assert.That(error!.Message, Does.Contain("must be a JSON array of results"));
    }
}
