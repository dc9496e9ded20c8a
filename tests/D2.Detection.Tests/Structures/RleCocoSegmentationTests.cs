using System.Text;
using System.Text.Json;
using D2.Detection.Structures;
using static D2.Detection.Tests.Structures.MaskFixtures;

namespace D2.Detection.Tests.Structures;

/// <summary>The COCO `segmentation` JSON forms, read as pycocotools annToRLE reads them, and the compressed form written.</summary>
public class RleCocoSegmentationTests
{
    static Rle Read(string json, int height, int width)
    {
        using var document = JsonDocument.Parse(json);
        return Rle.FromCocoSegmentation(document.RootElement, height, width);
    }

    [Test]
    public void Polygon_list_is_rasterised_and_merged()
    {
        var rle = Read("[[0, 0, 3, 0, 3, 2, 0, 2], [2, 1, 5, 1, 5, 3, 2, 3]]", 4, 5);

        Assert.That(Picture(rle.Decode(), 4, 5), Is.EqualTo(new[] { "###..", "#####", "..###", "....." }));
    }

    [Test]
    public void Uncompressed_counts_are_taken_as_runs()
    {
        // The hand-worked 3x4 example of RleCodecTests.
        var rle = Read("""{"size": [3, 4], "counts": [3, 2, 1, 3, 2, 1]}""", 3, 4);

        Assert.That(rle.ToCompressedString(), Is.EqualTo("32111N"));
    }

    [Test]
    public void Compressed_counts_are_decoded_as_is()
    {
        var rle = Read("""{"size": [3, 4], "counts": "32111N"}""", 3, 4);

        Assert.That(rle.Counts, Is.EqualTo(new uint[] { 3, 2, 1, 3, 2, 1 }));
    }

    [Test]
    public void Entries_of_four_numbers_are_boxes_as_pycocotools_frPyObjects_reads_them()
    {
        // [x, y, w, h] = [1, 1, 2, 1] on a 3x4 image: columns 1..2 of row 1.
        var rle = Read("[[1, 1, 2, 1]]", 3, 4);

        Assert.That(Picture(rle.Decode(), 3, 4), Is.EqualTo(new[] { "....", ".##.", "...." }));
    }

    [Test]
    public void Empty_polygon_list_is_an_empty_mask()
    {
        Assert.That(Read("[]", 2, 2).Area(), Is.Zero);
    }

    [TestCase("""{"size": [3, 4], "counts": "32111N"}""", 4, 4, "does not match the image size")]
    [TestCase("""{"counts": "32111N"}""", 3, 4, "needs both \"size\" and \"counts\"")]
    [TestCase("""{"size": [3], "counts": "32111N"}""", 3, 4, "\"size\" must be [height, width]")]
    [TestCase("""{"size": [3, 4], "counts": [3, 2, -1]}""", 3, 4, "count 2")]
    [TestCase("""{"size": [3, 4], "counts": [3, 2]}""", 3, 4, "inconsistent")]
    [TestCase("""{"size": [3, 4], "counts": 7}""", 3, 4, "string or an array")]
    [TestCase("[[0, 0, 1, 0, 1]]", 3, 4, "5 coordinates")]
    [TestCase("[[0, 0, 1, 0, 1, 1], \"x\"]", 3, 4, "polygon 1")]
    [TestCase("[[0, 0, 1, 1], [0, 0, 2, 0, 2, 2]]", 3, 4, "entry 1 has 6")]
    [TestCase("\"32111N\"", 3, 4, "not a JSON String")]
    public void Malformed_segmentation_is_reported_with_the_reason(string json, int height, int width, string reason)
    {
        var error = Assert.Throws<FormatException>(() => Read(json, height, width));

        Assert.That(error!.Message, Does.Contain(reason));
    }

    [Test]
    public void WriteCocoSegmentation_writes_size_and_compressed_counts()
    {
        var rle = new Rle(3, 4, [3, 2, 1, 3, 2, 1]);
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream)) rle.WriteCocoSegmentation(writer);

        Assert.That(Encoding.UTF8.GetString(stream.ToArray()), Is.EqualTo("""{"size":[3,4],"counts":"32111N"}"""));
    }
}
