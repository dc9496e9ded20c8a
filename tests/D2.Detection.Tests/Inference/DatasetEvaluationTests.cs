using System.Text.Json;
using D2.Detection.Data;
using D2.Detection.Evaluation;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Inference;

/// <summary>Detectron2's COCOEvaluator flow: results file, ground truth (own COCO json or converted records), metrics.</summary>
public class DatasetEvaluationTests
{
    const int Height = 40, Width = 50;
    string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = InferenceFixtures.TemporaryDirectory();

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    // Dataset category ids 3 (cat) and 7 (dog) are contiguous classes 0 and 1, as load_coco_json maps them.
    static readonly (long ImageId, int Class, double[] Polygon)[] Objects =
    [
        (11, 0, [5, 5, 25, 5, 25, 30, 5, 30]),
        (11, 1, [30, 10, 45, 10, 30, 35]),
        (12, 1, [10, 10, 40, 10, 40, 20, 10, 20]),
        (13, 0, [0, 0, 20, 0, 20, 20, 0, 20]),
    ];

    static readonly long[] ImageIds = [11, 12, 13];

    const string CocoJson = """
        {
          "images": [{"id": 11, "height": 40, "width": 50, "file_name": "a.png"}, {"id": 12, "height": 40, "width": 50, "file_name": "b.png"},
                     {"id": 13, "height": 40, "width": 50, "file_name": "c.png"}],
          "categories": [{"id": 3, "name": "cat"}, {"id": 7, "name": "dog"}],
          "annotations": [
            {"id": 1, "image_id": 11, "category_id": 3, "bbox": [5, 5, 20, 25], "area": 500, "iscrowd": 0, "segmentation": [[5, 5, 25, 5, 25, 30, 5, 30]]},
            {"id": 2, "image_id": 11, "category_id": 7, "bbox": [30, 10, 15, 25], "area": 187.5, "iscrowd": 0, "segmentation": [[30, 10, 45, 10, 30, 35]]},
            {"id": 3, "image_id": 12, "category_id": 7, "bbox": [10, 10, 30, 10], "area": 300, "iscrowd": 0, "segmentation": [[10, 10, 40, 10, 40, 20, 10, 20]]},
            {"id": 4, "image_id": 13, "category_id": 3, "bbox": [0, 0, 20, 20], "area": 400, "iscrowd": 0, "segmentation": [[0, 0, 20, 0, 20, 20, 0, 20]]}
          ]
        }
        """;

    static DatasetMetadata Metadata(string? jsonFile) =>
        new("shapes_val", ["cat", "dog"], new Dictionary<int, int> { [3] = 0, [7] = 1 }, jsonFile);

    static double[] BoxOf(double[] polygon)
    {
        var xs = polygon.Where((_, i) => i % 2 == 0).ToArray();
        var ys = polygon.Where((_, i) => i % 2 == 1).ToArray();
        return [xs.Min(), ys.Min(), xs.Max(), ys.Max()];
    }

    static DatasetRecord Record(long imageId) => new($"/data/{imageId}.png", Height, Width, imageId,
        [.. Objects.Where(o => o.ImageId == imageId).Select(o => new DatasetAnnotation(BoxOf(o.Polygon), o.Class, Polygons: [o.Polygon]))]);

    /// <summary>Predictions equal to the ground truth: the boxes, the rasterised polygons, score 0.9.</summary>
    static Instances PerfectPredictions(long imageId)
    {
        var objects = Objects.Where(o => o.ImageId == imageId).ToArray();
        return InferenceFixtures.Predictions(Height, Width,
            [.. objects.Select(o => BoxOf(o.Polygon).Select(v => (float)v).ToArray())],
            [.. objects.Select(_ => 0.9f)],
            [.. objects.Select(o => (long)o.Class)],
            [.. objects.Select(o => Rle.FromPolygon(o.Polygon, Height, Width).Decode())]);
    }

    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> EvaluatePerfect(DatasetMetadata metadata, List<string>? log = null)
    {
        var evaluation = new DatasetEvaluation(metadata, _directory, line => log?.Add(line));
        foreach (var id in ImageIds)
        {
            using var predictions = PerfectPredictions(id);
            evaluation.Process(Record(id), predictions);
        }
        return evaluation.Evaluate();
    }

    [Test]
    public void Ground_truth_as_predictions_scores_AP_100_against_the_dataset_COCO_json()
    {
        var jsonFile = Path.Combine(_directory, "instances_val.json");
        File.WriteAllText(jsonFile, CocoJson);
        var log = new List<string>();
        var results = EvaluatePerfect(Metadata(jsonFile), log);
        Assert.That(results.Keys, Is.EqualTo(new[] { "bbox", "segm" }));
        foreach (var task in results.Values)
        {
            Assert.That(task.Keys.Take(8), Is.EqualTo(new[] { "AP", "AP50", "AP75", "APs", "APm", "APl", "AP-cat", "AP-dog" }));
            foreach (var metric in new[] { "AP", "AP50", "AP75", "AP-cat", "AP-dog" })
                Assert.That(task[metric], Is.EqualTo(100.0).Within(1e-9), metric);
        }
        Assert.That(log, Has.Some.Contains("instances_val.json"), "the dataset's own json is the ground truth");
        Assert.That(File.Exists(Path.Combine(_directory, "shapes_val_coco_format.json")), Is.False);
    }

    [Test]
    public void Results_file_has_dataset_category_ids_xywh_boxes_and_rle_masks()
    {
        var jsonFile = Path.Combine(_directory, "instances_val.json");
        File.WriteAllText(jsonFile, CocoJson);
        EvaluatePerfect(Metadata(jsonFile));
        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_directory, "coco_instances_results.json")));
        var entries = json.RootElement.EnumerateArray().ToList();
        Assert.That(entries, Has.Count.EqualTo(4));
        Assert.That(entries[0].EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "image_id", "category_id", "bbox", "score", "segmentation" }));
        Assert.That(entries.Select(e => (e.GetProperty("image_id").GetInt64(), e.GetProperty("category_id").GetInt64())),
            Is.EqualTo(new[] { (11L, 3L), (11L, 7L), (12L, 7L), (13L, 3L) }));
        Assert.That(entries[1].GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()), Is.EqualTo(new[] { 30.0, 10, 15, 25 }));
        Assert.That(entries[1].GetProperty("score").GetDouble(), Is.EqualTo((double)0.9f));
        var segmentation = entries[1].GetProperty("segmentation");
        var rle = Rle.FromCompressedString(segmentation.GetProperty("counts").GetString()!, Height, Width);
        Assert.That(rle.Decode(), Is.EqualTo(Rle.FromPolygon(Objects[1].Polygon, Height, Width).Decode()));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Records_without_a_COCO_json_are_converted_to_coco_format_json(bool viaJson)
    {
        string? jsonFile = null;
        if (viaJson)
        {
            // A VIA export (balloon): an object keyed by file, not COCO.
            jsonFile = Path.Combine(_directory, "via_region_data.json");
            File.WriteAllText(jsonFile, """{"a.png1234": {"filename": "a.png", "regions": {}}}""");
        }
        var results = EvaluatePerfect(Metadata(jsonFile));
        Assert.That(results["bbox"]["AP"], Is.EqualTo(100.0).Within(1e-9));
        Assert.That(results["segm"]["AP"], Is.EqualTo(100.0).Within(1e-9));

        using var json = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_directory, "shapes_val_coco_format.json")));
        var root = json.RootElement;
        Assert.That(root.GetProperty("images").EnumerateArray().Select(i => (i.GetProperty("id").GetInt64(), i.GetProperty("height").GetInt32(), i.GetProperty("width").GetInt32())),
            Is.EqualTo(new[] { (11L, Height, Width), (12L, Height, Width), (13L, Height, Width) }));
        Assert.That(root.GetProperty("categories").EnumerateArray().Select(c => (c.GetProperty("id").GetInt64(), c.GetProperty("name").GetString())),
            Is.EqualTo(new[] { (3L, "cat"), (7L, "dog") }));
        var annotations = root.GetProperty("annotations").EnumerateArray().ToList();
        Assert.That(annotations.Select(a => a.GetProperty("id").GetInt64()), Is.EqualTo(new[] { 1L, 2, 3, 4 }));
        Assert.That(annotations.Select(a => a.GetProperty("category_id").GetInt64()), Is.EqualTo(new[] { 3L, 7, 7, 3 }));
        Assert.That(annotations.Select(a => a.GetProperty("area").GetDouble()), Is.EqualTo(new[] { 500.0, 187.5, 300, 400 }), "shoelace areas");
        Assert.That(annotations[1].GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()), Is.EqualTo(new[] { 30.0, 10, 15, 25 }));
        Assert.That(annotations.Select(a => a.GetProperty("iscrowd").GetInt32()), Has.All.Zero);
    }

    [Test]
    public void Converted_areas_come_from_polygons_rle_or_box_and_boxes_round_like_Python()
    {
        var mask = Rle.Encode(InferenceFixtures.RectangleMask(Height, Width, 2, 3, 6, 6), Height, Width);
        DatasetRecord record = new("/data/x.png", Height, Width, 5,
        [
            new DatasetAnnotation([0, 0, 4, 4], 0, Polygons: [[0, 0, 4, 0, 0, 4], [10, 10, 12, 10, 12, 12, 10, 12]]),
            new DatasetAnnotation([2, 3, 6, 6], 1, IsCrowd: true, Mask: mask),
            // Width 9.5625 is an exact tie at 3 decimals: Python's round() goes to even, 9.562.
            new DatasetAnnotation([1.5, 2.25, 11.0625, 7], 1),
        ]);
        var path = Path.Combine(_directory, "converted.json");
        CocoGroundTruthWriter.Write(path, [record], Metadata(null));
        using var json = JsonDocument.Parse(File.ReadAllBytes(path));
        var annotations = json.RootElement.GetProperty("annotations").EnumerateArray().ToList();
        Assert.That(annotations.Select(a => a.GetProperty("area").GetDouble()), Is.EqualTo(new[] { 8 + 4, 12, 9.5625 * 4.75 }));
        Assert.That(annotations[2].GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()), Is.EqualTo(new[] { 1.5, 2.25, 9.562, 4.75 }));
        Assert.That(annotations.Select(a => a.GetProperty("iscrowd").GetInt32()), Is.EqualTo(new[] { 0, 1, 0 }));
        Assert.That(annotations[1].GetProperty("segmentation").GetProperty("counts").GetString(), Is.EqualTo(mask.ToCompressedString()));
        Assert.That(annotations[2].TryGetProperty("segmentation", out _), Is.False);
        // The file loads as COCO ground truth.
        Assert.That(CocoDataset.Load(path).Annotations, Has.Count.EqualTo(3));
    }

    [Test]
    public void No_detections_give_NaN_as_Detectron2_does()
    {
        var evaluation = new DatasetEvaluation(Metadata(null), _directory, _ => { });
        using var none = InferenceFixtures.Predictions(Height, Width, [], [], []);
        evaluation.Process(Record(11), none);
        var results = evaluation.Evaluate();
        Assert.That(results.Keys, Is.EqualTo(new[] { "bbox" }));
        Assert.That(results["bbox"].Values, Has.All.NaN);
        Assert.That(File.ReadAllText(evaluation.ResultsPath), Is.EqualTo("[]"));
    }

    [Test]
    public void Nothing_processed_gives_an_empty_result()
    {
        Assert.That(new DatasetEvaluation(Metadata(null), _directory, _ => { }).Evaluate(), Is.Empty);
    }

    [Test]
    public void Run_evaluates_a_model_over_the_records_logs_the_time_and_restores_its_mode()
    {
        var cfg = InferenceFixtures.TinyConfig();
        using var model = InferenceFixtures.TinyModel(cfg);
        model.train();
        manual_seed(3);
        var data = ImageIds.Select(id => (Record(id), new ModelInput(rand(3, Height, Width) * 255))).ToList();
        var log = new List<string>();
        var results = DatasetEvaluation.Run(model, data, Metadata(null), _directory, log.Add);
        Assert.That(model.training, Is.True, "the mode is restored after inference");
        Assert.That(results.Keys, Is.EqualTo(new[] { "bbox", "segm" }));
        foreach (var value in results.Values.SelectMany(v => v.Values))
            Assert.That(double.IsNaN(value) || value is >= 0 and <= 100, Is.True, $"{value}");
        Assert.That(log, Has.Some.StartsWith("Total inference time: ").And.Some.Contains("s / iter per device, on 1 devices"));
        Assert.That(log, Has.Some.StartsWith("Total inference pure compute time: "));
        Assert.That(log, Has.Some.StartsWith("Start inference on 3 batches"));
        Assert.That(File.Exists(Path.Combine(_directory, "coco_instances_results.json")), Is.True);
        Assert.That(File.Exists(Path.Combine(_directory, "shapes_val_coco_format.json")), Is.True);
    }

    [TestCase(3.5, "0:00:03.500000")]
    [TestCase(3725.0, "1:02:05")]
    [TestCase(90000.25, "1 day, 1:00:00.250000")]
    public void Durations_print_like_Python_timedelta(double seconds, string expected)
    {
        Assert.That(DatasetEvaluation.Timedelta(seconds), Is.EqualTo(expected));
    }
}
