using System.Text.Json;
using D2.Detection.Config;
using D2.Detection.Inference;
using D2.Detection.Modeling;
using SkiaSharp;
using static TorchSharp.torch;

namespace D2.Trainer.Tests;

/// <summary>`d2 predict` as a process: a model artifact and an image in, the JSON response and a PNG overlay out.</summary>
public class PredictCommandTests
{
    const int Height = 60, Width = 80;
    string _directory = null!;
    string _modelDirectory = null!;
    string _imagePath = null!;

    [OneTimeSetUp]
    public void CreateArtifactAndImage()
    {
        _directory = Path.Combine(Path.GetTempPath(), "d2-predict-tests-" + Guid.NewGuid().ToString("N"));
        _modelDirectory = Path.Combine(_directory, "model");
        // A tiny untrained Mask R-CNN; SCORE_THRESH_TEST 0 so that it still reports detections.
        var cfg = ModelZoo.GetConfig("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
        [
            "MODEL.FPN.OUT_CHANNELS", "32", "MODEL.ROI_BOX_HEAD.FC_DIM", "64", "MODEL.ROI_MASK_HEAD.CONV_DIM", "32",
            "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0", "INPUT.MIN_SIZE_TEST", "96", "INPUT.MAX_SIZE_TEST", "128",
        ]);
        manual_seed(11);
        using (var model = ModelBuilder.Build(cfg))
            ModelArtifact.Write(_modelDirectory, model, cfg, ["balloon"], trainingJobName: "test-job");

        using var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(90, 120, 150));
            using var paint = new SKPaint { Color = new SKColor(230, 30, 30) };
            canvas.DrawOval(30, 30, 15, 20, paint);
        }
        _imagePath = Path.Combine(_directory, "balloon.png");
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(_imagePath, png.ToArray());
    }

    [OneTimeTearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Writes_the_json_response_and_the_overlay()
    {
        var json = Path.Combine(_directory, "out.json");
        var overlay = Path.Combine(_directory, "vis.png");
        var (exit, stdout, stderr) = D2Process.Run("predict", "--model", _modelDirectory, "--image", _imagePath, "--json", json, "--out", overlay);
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("out.json").And.Contain("vis.png"));

        using var response = JsonDocument.Parse(File.ReadAllBytes(json));
        var root = response.RootElement;
        Assert.That(root.EnumerateObject().Select(p => p.Name),
            Is.EqualTo(new[] { "pred_boxes", "scores", "pred_classes", "pred_masks_rle", "image_size", "class_names" }));
        Assert.That(root.GetProperty("image_size").EnumerateArray().Select(v => v.GetInt32()), Is.EqualTo(new[] { Height, Width }));
        var count = root.GetProperty("scores").GetArrayLength();
        Assert.That(count, Is.GreaterThan(0));
        Assert.That(root.GetProperty("pred_masks_rle").GetArrayLength(), Is.EqualTo(count));
        Assert.That(root.GetProperty("class_names").EnumerateArray().Select(n => n.GetString()), Has.All.EqualTo("balloon"));
        foreach (var box in root.GetProperty("pred_boxes").EnumerateArray())
        {
            var b = box.EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.That(b[0] >= 0 && b[1] >= 0 && b[2] <= Width && b[3] <= Height && b[0] <= b[2] && b[1] <= b[3], Is.True, string.Join(", ", b));
        }

        using var decoded = SKBitmap.Decode(overlay);
        Assert.That((decoded.Width, decoded.Height), Is.EqualTo((Width, Height)));
    }

    [Test]
    public void Prints_the_json_response_when_no_file_is_given()
    {
        var (exit, stdout, stderr) = D2Process.Run("predict", "--model", _modelDirectory, "--image", _imagePath, "--device", "cpu");
        Assert.That(exit, Is.Zero, stderr);
        using var response = JsonDocument.Parse(stdout);
        Assert.That(response.RootElement.GetProperty("image_size").EnumerateArray().Select(v => v.GetInt32()), Is.EqualTo(new[] { Height, Width }));
    }

    [Test]
    public void Missing_model_directory_exits_2_and_names_it()
    {
        var missing = Path.Combine(_directory, "no-such-model");
        var (exit, _, stderr) = D2Process.Run("predict", "--model", missing, "--image", _imagePath);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(missing));
    }

    [Test]
    public void Model_directory_without_config_exits_2_and_names_the_file()
    {
        var incomplete = Path.Combine(_directory, "incomplete");
        Directory.CreateDirectory(incomplete);
        foreach (var file in new[] { ModelArtifact.WeightsFileName, ModelArtifact.MetadataFileName })
            File.Copy(Path.Combine(_modelDirectory, file), Path.Combine(incomplete, file), overwrite: true);
        var (exit, _, stderr) = D2Process.Run("predict", "--model", incomplete, "--image", _imagePath);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(Path.Combine(incomplete, "config.yaml")));
    }

    [Test]
    public void Unreadable_or_missing_image_exits_2_and_names_it()
    {
        var garbage = Path.Combine(_directory, "not-an-image.jpg");
        File.WriteAllText(garbage, "this is text, not a JPEG");
        var (exit, _, stderr) = D2Process.Run("predict", "--model", _modelDirectory, "--image", garbage);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(garbage));

        var missing = Path.Combine(_directory, "missing.png");
        (exit, _, stderr) = D2Process.Run("predict", "--model", _modelDirectory, "--image", missing);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(missing));
    }

    [Test]
    public void Missing_arguments_exit_2()
    {
        var (exit, _, stderr) = D2Process.Run("predict", "--image", _imagePath);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--model"));
    }
}
