using System.Text.Json;

namespace D2.Trainer.Tests;

/// <summary>`d2 evaluate` run as a real process on COCO files written by the test.</summary>
public class EvaluateCommandTests
{
    // Two 20x20 images; categories 4 and 9 have one object each, category 12 none. Squares as polygons, so the
    // masks have exactly the box's pixels.
    const string GroundTruth = """
        {"images": [{"id": 1, "height": 20, "width": 20}, {"id": 3, "height": 20, "width": 20}],
         "categories": [{"id": 4, "name": "balloon"}, {"id": 9, "name": "kite"}, {"id": 12, "name": "empty"}],
         "annotations": [
           {"id": 1, "image_id": 1, "category_id": 4, "bbox": [0, 0, 10, 10], "area": 100, "iscrowd": 0,
            "segmentation": [[0, 0, 10, 0, 10, 10, 0, 10]]},
           {"id": 2, "image_id": 3, "category_id": 9, "bbox": [5, 5, 8, 8], "area": 64, "iscrowd": 0,
            "segmentation": [[5, 5, 13, 5, 13, 13, 5, 13]]}]}
        """;

    // Perfect boxes and masks ("size" [20, 20], compressed RLE of the same squares), plus a detection of the
    // category without ground truth.
    const string Results = """
        [{"image_id": 1, "category_id": 4, "bbox": [0, 0, 10, 10], "score": 0.9, "segmentation": {"size": [20, 20], "counts": "0::00000000000000000X6"}},
         {"image_id": 3, "category_id": 9, "bbox": [5, 5, 8, 8], "score": 0.8, "segmentation": {"size": [20, 20], "counts": "Y38<0000000000000W4"}},
         {"image_id": 3, "category_id": 12, "bbox": [0, 0, 4, 4], "score": 0.3, "segmentation": {"size": [20, 20], "counts": "04`000000P:"}}]
        """;

    string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("d2-evaluate-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    (int Exit, string Stdout, string Stderr) Evaluate(string groundTruth, string results, params string[] options) =>
        D2Process.Run(["evaluate", "--annotations", Write("gt.json", groundTruth), "--results", Write("dt.json", results), .. options]);

    [Test]
    public void Evaluate_json_prints_one_object_with_detectron2_metrics_and_pycocotools_stats()
    {
        var (exit, stdout, stderr) = Evaluate(GroundTruth, Results, "--iou-type", "bbox,segm", "--json");

        Assert.That(exit, Is.Zero, stderr);
        using var json = JsonDocument.Parse(stdout);
        Assert.That(json.RootElement.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "bbox", "segm" }));
        foreach (var task in json.RootElement.EnumerateObject())
        {
            var metrics = task.Value;
            Assert.That(metrics.EnumerateObject().Select(p => p.Name),
                Is.EqualTo(new[] { "AP", "AP50", "AP75", "APs", "APm", "APl", "AP-balloon", "AP-kite", "AP-empty", "stats" }), task.Name);
            Assert.That(metrics.GetProperty("AP").GetDouble(), Is.EqualTo(100).Within(1e-9), task.Name);
            // No medium or large objects: NaN in Detectron2, written as null; -1 in the raw stats.
            Assert.That(metrics.GetProperty("APm").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(metrics.GetProperty("AP-empty").ValueKind, Is.EqualTo(JsonValueKind.Null));
            var stats = metrics.GetProperty("stats").EnumerateArray().Select(s => s.GetDouble()).ToArray();
            Assert.That(stats, Is.EqualTo(new double[] { 1, 1, 1, 1, -1, -1, 1, 1, 1, 1, -1, -1 }).Within(1e-12), task.Name);
        }
    }

    [Test]
    public void Evaluate_prints_pycocotools_summary_and_detectron2_tables()
    {
        var (exit, stdout, stderr) = Evaluate(GroundTruth, Results);

        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain(" Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000"));
        Assert.That(stdout, Does.Contain(" Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000"));
        Assert.That(stdout, Does.Contain("Evaluation results for bbox:").And.Contain("|   AP    |  AP50   |").And.Contain("| 100.000 |"));
        Assert.That(stdout, Does.Contain("Per-category bbox AP:").And.Contain("| balloon  | 100.000 |"));
        Assert.That(stdout, Does.Not.Contain("segm"));
    }

    [Test]
    public void Evaluate_names_a_missing_file_and_exits_with_2()
    {
        var missing = Path.Combine(_directory, "nope.json");
        var (exit, _, stderr) = D2Process.Run("evaluate", "--annotations", missing, "--results", Write("dt.json", Results));

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(missing).And.Contain("not found"));
    }

    [Test]
    public void Evaluate_without_a_results_file_exits_with_2()
    {
        var (exit, _, stderr) = D2Process.Run("evaluate", "--annotations", Write("gt.json", GroundTruth));

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--results is required"));
    }

    [Test]
    public void Evaluate_names_invalid_json_with_its_line_and_exits_with_2()
    {
        var (exit, _, stderr) = Evaluate(GroundTruth, "[\n{\"image_id\": 1,, }\n]");

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(Path.Combine(_directory, "dt.json")).And.Contain("not valid JSON (line 2"));
    }

    [Test]
    public void Evaluate_rejects_results_for_an_image_not_in_the_ground_truth_with_exit_2()
    {
        var (exit, _, stderr) = Evaluate(GroundTruth, """[{"image_id": 2, "category_id": 4, "bbox": [0, 0, 1, 1], "score": 0.5}]""");

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("dt.json").And.Contain("image_id 2").And.Contain("do not correspond"));
    }

    [TestCase("keypoints", "'keypoints' is not supported")]
    [TestCase("segm", "segmentation")]
    public void Evaluate_rejects_an_iou_type_it_cannot_compute_with_exit_2(string iouType, string reason)
    {
        var (exit, _, stderr) = Evaluate(GroundTruth, """[{"image_id": 1, "category_id": 4, "bbox": [0, 0, 1, 1], "score": 0.5}]""", "--iou-type", iouType);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(reason));
    }
}
