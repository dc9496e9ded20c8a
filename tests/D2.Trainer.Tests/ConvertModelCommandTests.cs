using System.Text.Json;
using D2.Detection.Tests.Inference;
using SkiaSharp;

namespace D2.Trainer.Tests;

/// <summary>
/// `d2 predict` on a folder Detectron2 wrote (config.yaml dump, model_final.pth, no metadata.json) and `d2 convert-model`
/// of it, as processes: both give the same JSON, and unusable inputs fail naming the file.
/// </summary>
public class ConvertModelCommandTests
{
    string _directory = null!;
    string _detectron2Folder = null!;
    string _imagePath = null!;

    [OneTimeSetUp]
    public void WriteFolderAndImage()
    {
        _directory = Path.Combine(Path.GetTempPath(), "d2-convert-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        var yaml = Detectron2Fixtures.ConfigYaml(extra: ("MODEL.DEVICE", "cuda"));
        _detectron2Folder = Detectron2Fixtures.Folder(_directory, "output", yaml);
        using (var model = Detectron2Fixtures.Model(Detectron2Fixtures.LoadConfig(yaml)))
            Detectron2Fixtures.WritePth(Path.Combine(_detectron2Folder, "model_final.pth"), model,
                ("pixel_std", TorchSharp.torch.ones(3, 1, 1)));
        File.WriteAllText(Path.Combine(_detectron2Folder, "last_checkpoint"), "model_final.pth");

        using var bitmap = new SKBitmap(new SKImageInfo(150, 110, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(90, 120, 150));
            using var paint = new SKPaint { Color = new SKColor(230, 30, 30) };
            canvas.DrawOval(50, 55, 25, 30, paint);
        }
        _imagePath = Path.Combine(_directory, "balloon.jpg");
        using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(_imagePath, jpeg.ToArray());
    }

    [OneTimeTearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Predict_on_a_detectron2_folder_equals_predict_on_its_conversion_and_dumps_intermediates()
    {
        var direct = Path.Combine(_directory, "direct.json");
        var run = D2Process.Run("predict", "--model", _detectron2Folder, "--image", _imagePath, "--json", direct, "--dump");
        Assert.That(run.Exit, Is.EqualTo(0), run.Stderr);
        if (!TorchSharp.torch.cuda.is_available())
            Assert.That(run.Stderr, Does.Contain("MODEL.DEVICE cuda").And.Contain("running on cpu"));
        Assert.That(run.Stderr, Does.Contain("pixel_std"), "unused checkpoint keys are noted");

        var converted = Path.Combine(_directory, "artifact");
        var convert = D2Process.Run("convert-model", "--input", _detectron2Folder, "--output", converted);
        Assert.That(convert.Exit, Is.EqualTo(0), convert.Stderr);
        Assert.That(convert.Stdout, Does.Contain("unused: pixel_std").And.Contain("0 missing").And.Contain("wrote " + converted));

        var viaArtifact = Path.Combine(_directory, "artifact.json");
        run = D2Process.Run("predict", "--model", converted, "--image", _imagePath, "--json", viaArtifact, "--dump", Path.Combine(_directory, "artifact.trace.json"));
        Assert.That(run.Exit, Is.EqualTo(0), run.Stderr);
        Assert.That(File.ReadAllText(viaArtifact), Is.EqualTo(File.ReadAllText(direct)));
        using (var response = JsonDocument.Parse(File.ReadAllBytes(direct)))
            Assert.That(response.RootElement.GetProperty("pred_masks_rle").GetArrayLength(), Is.GreaterThan(0));

        using var dump = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(_directory, "direct.dump.json")));
        var features = dump.RootElement.GetProperty("features");
        foreach (var level in new[] { "res2", "res5", "p2", "p3", "p4", "p5", "p6" })
            Assert.That(features.TryGetProperty(level, out _), Is.True, level);
        Assert.That(dump.RootElement.GetProperty("rpn_proposals")[0].GetProperty("top").GetArrayLength(), Is.GreaterThan(0));
        Assert.That(File.ReadAllText(Path.Combine(_directory, "artifact.trace.json")), Is.EqualTo(File.ReadAllText(Path.Combine(_directory, "direct.dump.json"))));
    }

    [Test]
    public void Truncated_or_missing_weights_fail_naming_the_file()
    {
        var broken = Detectron2Fixtures.Folder(_directory, "broken", File.ReadAllText(Path.Combine(_detectron2Folder, "config.yaml")));
        var pth = Path.Combine(broken, "model_final.pth");
        var bytes = File.ReadAllBytes(Path.Combine(_detectron2Folder, "model_final.pth"));
        File.WriteAllBytes(pth, bytes[..(bytes.Length / 3)]);
        var convert = D2Process.Run("convert-model", "--input", broken, "--output", Path.Combine(_directory, "broken-out"));
        Assert.That(convert.Exit, Is.EqualTo(2));
        Assert.That(convert.Stderr, Does.Contain("d2 convert-model: " + pth));

        File.Delete(pth);
        var predict = D2Process.Run("predict", "--model", broken, "--image", _imagePath, "--device", "cpu");
        Assert.That(predict.Exit, Is.EqualTo(2));
        Assert.That(predict.Stderr, Does.Contain("model_final.pth").And.Contain("weights are missing"));
    }
}
