using System.Text.Json;

namespace D2.Trainer.Tests;

/// <summary>`d2 synth-balloons` run as a real process into a temporary folder.</summary>
public class SynthBalloonsCommandTests
{
    string _directory = "";

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("d2-synth-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void Synth_balloons_writes_train_and_val_with_via_and_coco_json()
    {
        var (exit, stdout, stderr) = D2Process.Run("synth-balloons", "--out", _directory, "--train", "3", "--val", "2", "--seed", "5", "--size", "96x64");

        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("train").And.Contain("3 images").And.Contain("seed 5, 96x64"));
        foreach (var (split, count) in new[] { ("train", 3), ("val", 2) })
        {
            var folder = Path.Combine(_directory, split);
            Assert.That(Directory.GetFiles(folder, "*.jpg"), Has.Length.EqualTo(count), split);
            using var via = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "via_region_data.json")));
            Assert.That(via.RootElement.EnumerateObject().Count(), Is.EqualTo(count), split);
            using var coco = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, "annotations.json")));
            Assert.That(coco.RootElement.GetProperty("images").EnumerateArray().Select(i => (i.GetProperty("width").GetInt32(), i.GetProperty("height").GetInt32())),
                Has.All.EqualTo((96, 64)), split);
        }
    }

    [TestCase("320", "--size '320' is not WIDTHxHEIGHT")]
    [TestCase("axb", "--size 'axb' is not WIDTHxHEIGHT")]
    [TestCase("16x16", "at least 32")]
    public void Synth_balloons_rejects_a_bad_size_with_exit_2(string size, string message)
    {
        var (exit, _, stderr) = D2Process.Run("synth-balloons", "--out", _directory, "--size", size);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain(message));
        Assert.That(Directory.EnumerateFileSystemEntries(_directory), Is.Empty);
    }

    [Test]
    public void Synth_balloons_without_an_output_folder_exits_with_2()
    {
        var (exit, _, stderr) = D2Process.Run("synth-balloons", "--train", "1");

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("--out is required"));
    }
}
