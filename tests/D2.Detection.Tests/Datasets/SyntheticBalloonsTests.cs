using System.Text.Json;
using D2.Detection.Data.Datasets;
using D2.Detection.Data.Synthetic;

namespace D2.Detection.Tests.Datasets;

/// <summary>The synthetic balloon generator: deterministic files, the balloon dataset's layout, sane polygons, and
/// annotations that the COCO and VIA loaders read back alike.</summary>
public class SyntheticBalloonsTests
{
    const int Width = 128;
    const int Height = 96;
    const int TrainCount = 24;
    const int ValCount = 6;

    DatasetFolder _folder = null!;
    IReadOnlyList<SyntheticSplit> _splits = null!;

    [OneTimeSetUp]
    public void Generate()
    {
        _folder = new DatasetFolder();
        _splits = SyntheticBalloons.Generate(_folder.PathOf("a"), TrainCount, ValCount, seed: 7, Width, Height);
    }

    [OneTimeTearDown]
    public void DeleteFolder() => _folder.Dispose();

    static string[] Files(string root) =>
        [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal)];

    [Test]
    public void Generate_with_the_same_seed_writes_identical_bytes()
    {
        SyntheticBalloons.Generate(_folder.PathOf("b"), TrainCount, ValCount, seed: 7, Width, Height);

        Assert.That(Files(_folder.PathOf("b")), Is.EqualTo(Files(_folder.PathOf("a"))));
        foreach (var file in Files(_folder.PathOf("a")))
            Assert.That(File.ReadAllBytes(_folder.PathOf("b/" + file)), Is.EqualTo(File.ReadAllBytes(_folder.PathOf("a/" + file))), file);
    }

    [Test]
    public void Generate_with_another_seed_draws_other_balloons()
    {
        SyntheticBalloons.Generate(_folder.PathOf("c"), 2, 0, seed: 8, Width, Height);

        Assert.That(File.ReadAllBytes(_folder.PathOf("c/train/balloon_0000.jpg")), Is.Not.EqualTo(File.ReadAllBytes(_folder.PathOf("a/train/balloon_0000.jpg"))));
    }

    [Test]
    public void Generate_writes_the_balloon_dataset_layout_with_the_requested_counts()
    {
        Assert.That(_splits.Select(s => (s.Name, s.Images)), Is.EqualTo(new[] { ("train", TrainCount), ("val", ValCount) }));
        foreach (var split in _splits)
        {
            Assert.That(split.Folder, Is.EqualTo(_folder.PathOf("a/" + split.Name)));
            Assert.That(Directory.GetFiles(split.Folder, "*.jpg"), Has.Length.EqualTo(split.Images));
            Assert.That(File.Exists(Path.Combine(split.Folder, "via_region_data.json")) && File.Exists(Path.Combine(split.Folder, "annotations.json")), Is.True);
        }
        using var coco = JsonDocument.Parse(File.ReadAllBytes(_folder.PathOf("a/train/annotations.json")));
        var perImage = coco.RootElement.GetProperty("annotations").EnumerateArray().GroupBy(a => a.GetProperty("image_id").GetInt32()).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(Enumerable.Range(1, TrainCount).Select(id => perImage.GetValueOrDefault(id)), Has.All.InRange(1, 4));
        Assert.That(coco.RootElement.GetProperty("categories").GetRawText(), Is.EqualTo("""[{"id":1,"name":"balloon","supercategory":"balloon"}]"""));
    }

    [Test]
    public void Polygons_lie_inside_the_image_and_some_are_cut_by_the_border()
    {
        var (records, _) = CocoJsonDataset.Load(_folder.PathOf("a/train/annotations.json"), _folder.PathOf("a/train"), "synthetic", TextWriter.Null);
        var polygons = records.SelectMany(r => r.Annotations).Select(a => a.Polygons!.Single()).ToList();

        foreach (var polygon in polygons)
        {
            var xs = polygon.Where((_, i) => i % 2 == 0).ToArray();
            var ys = polygon.Where((_, i) => i % 2 == 1).ToArray();
            Assert.That(xs, Has.All.InRange(0.0, Width));
            Assert.That(ys, Has.All.InRange(0.0, Height));
        }
        var onBorder = polygons.Count(p => p.Where((_, i) => i % 2 == 0).Any(x => x is 0 or Width) || p.Where((_, i) => i % 2 == 1).Any(y => y is 0 or Height));
        Assert.That(onBorder, Is.InRange(1, polygons.Count - 1), "some balloons, not all, are cut by the border");
        // Outlines are drawn with 24-40 points; the border removes some, a balloon in front adds part of its outline.
        Assert.That(polygons.Select(p => p.Length / 2), Has.All.InRange(8, 80));
        Assert.That(polygons.Count(p => p.Length / 2 is >= 24 and <= 40), Is.GreaterThan(polygons.Count / 2));
    }

    [Test]
    public void Some_balloons_overlap()
    {
        var (records, _) = CocoJsonDataset.Load(_folder.PathOf("a/train/annotations.json"), _folder.PathOf("a/train"), "synthetic", TextWriter.Null);

        static bool Intersect(double[] a, double[] b) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
        var overlapping = records.Count(r => r.Annotations.Any(a => r.Annotations.Any(b => !ReferenceEquals(a, b) && Intersect(a.BboxXyxy, b.BboxXyxy))));
        Assert.That(overlapping, Is.GreaterThan(0));
    }

    [Test]
    public void Coco_and_via_annotations_load_back_with_equal_instances()
    {
        foreach (var split in _splits)
        {
            var (coco, cocoMetadata) = CocoJsonDataset.Load(Path.Combine(split.Folder, "annotations.json"), split.Folder, "synthetic", TextWriter.Null);
            var (via, _) = ViaJsonDataset.Load(Path.Combine(split.Folder, "via_region_data.json"), log: TextWriter.Null);

            Assert.That(cocoMetadata.ThingClasses, Is.EqualTo(new[] { "balloon" }));
            Assert.That(coco.Select(r => r.FileName), Is.EqualTo(via.Select(r => r.FileName)), split.Name);
            Assert.That(via.Select(r => (r.Height, r.Width)), Has.All.EqualTo((Height, Width)), split.Name);
            Assert.That(coco.Select(r => r.Annotations.Count), Is.EqualTo(via.Select(r => r.Annotations.Count)), split.Name);
            Assert.That(coco.Sum(r => r.Annotations.Count), Is.EqualTo(split.Instances), split.Name);
            // VIA holds the integer pixel of each point: its boxes are within a pixel of COCO's.
            var cocoBoxes = coco.SelectMany(r => r.Annotations).SelectMany(a => a.BboxXyxy);
            var viaBoxes = via.SelectMany(r => r.Annotations).SelectMany(a => a.BboxXyxy);
            Assert.That(cocoBoxes.Zip(viaBoxes, (c, v) => Math.Abs(c - v)), Has.All.LessThanOrEqualTo(1.0), split.Name);
        }
    }

    [TestCase(-1, 10, 64, 64)]
    [TestCase(1, 1, 31, 64)]
    [TestCase(1, 1, 64, 16)]
    public void Generate_rejects_negative_counts_and_tiny_images(int train, int val, int width, int height) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SyntheticBalloons.Generate(_folder.PathOf("bad"), train, val, 0, width, height));
}
