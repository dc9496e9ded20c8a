using System.Globalization;
using System.Text;
using D2.Detection.Data;
using D2.Detection.Data.Datasets;

namespace D2.Detection.Tests.Datasets;

/// <summary>
/// The streaming COCO reader against the document reader it replaced (<see cref="CocoJsonDataset.LoadWithDocument"/>,
/// the reference): the same records, metadata and log lines for every file the streaming pass takes, at every buffer
/// size (a 1-byte buffer cuts every token at every position), and the same error for every file it does not.
/// </summary>
public class CocoJsonStreamingTests
{
    // COCO's own section order (categories last), fields the loader skips (nested objects and arrays included),
    // escaped names and file names, ids written as 3.0, crowd flags as booleans and null, numbers the fast path leaves
    // to the general parser (exponents, 17 digits), -0, an empty polygon list, invalid polygons next to valid ones, an
    // uncompressed and a compressed RLE, an annotation of an unlisted image whose other fields are malformed (the
    // document reader skips it unchecked), and an image without annotations.
    const string Rich = """
        {"info": {"description": "t", "contributors": ["a", {"b": [1, 2, {"c": null}]}]},
         "licenses": [{"id": 1, "name": "x", "url": "http://e/}, {"}],
         "images": [{"license": 1, "file_name": "caf\u00e9/\u65e5\u672c \"q\".jpg", "coco_url": "u", "height": 40, "width": 60, "id": 7.0},
                    {"id": 3, "file_name": "sub/a.jpg", "height": 20, "width": 30, "date_captured": "2013-11-14 11:18:45"},
                    {"id": 12, "file_name": "empty.jpg", "height": 5, "width": 5}],
         "annotations": [
           {"segmentation": [[10, 20, 15, 20, 15, 28, 10, 28], [1, 2, 3], [0.1, 0.2, 1e1, 2.5E-1, 3.14159265358979312, -0.0]],
            "area": 40.0, "iscrowd": false, "image_id": 7, "bbox": [10, 20, 5, 8], "category_id": 90, "id": 11, "extra": {"k": [[]]}},
           {"id": 12, "image_id": 7, "category_id": 1, "bbox": [0, 0, 5, 1], "iscrowd": true,
            "segmentation": {"size": [40, 60], "counts": [0, 5, 2395]}},
           {"id": 13, "image_id": 3, "category_id": 5, "bbox": [1.5, 2.5, 3, 4], "iscrowd": null, "ignore": 0,
            "segmentation": {"size": [20, 30], "counts": "COMPRESSED"}},
           {"id": 14, "image_id": 3, "category_id": 5, "bbox": [-0, 1e-3, 123456789.123456789, 0.30000000000000004], "segmentation": []},
           {"id": 15, "image_id": 3, "category_id": 1, "bbox": [0, 0, 2, 2], "segmentation": [[0, 0, 1]]},
           {"id": 16, "image_id": 99, "category_id": 777, "bbox": "x", "iscrowd": "y", "ignore": 1, "segmentation": 5},
           {"id": 17, "im\u0061ge_id": 3, "category_id": 90, "bbox": [2, 2, 2, 2], "segmentation": null}],
         "categories": [{"supercategory": "s", "id": 90, "name": "tooth\u00adbrush"}, {"id": 1, "name": "person"}, {"id": 5, "name": "airplane"}]}
        """;

    DatasetFolder _folder = null!;

    [SetUp]
    public void CreateFolder() => _folder = new DatasetFolder();

    [TearDown]
    public void DeleteFolder() => _folder.Dispose();

    static readonly string CompressedMask = new D2.Detection.Structures.Rle(20, 30, [2, 3, 595]).ToCompressedString();

    string WriteRich() => _folder.Write("instances.json", Rich.Replace("COMPRESSED", CompressedMask, StringComparison.Ordinal));

    [Test]
    public void Streaming_gives_the_document_readers_records_and_log_at_every_buffer_size()
    {
        var path = WriteRich();
        var (expected, expectedLog) = LoadWithDocument(path, "my_dataset");
        Assert.That(expectedLog, Does.Contain("Category ids in annotations are not in [1, #categories]")
            .And.Contain("contains 7 annotations, but only 6 of them match").And.Contain("annotation id 15 has no valid polygon"));

        foreach (var bufferSize in Enumerable.Range(1, 48).Append(4096))
            foreach (var splitFrom in new[] { 0, long.MaxValue })
            {
                var log = new StringWriter();
                var streamed = CocoJsonDataset.TryLoadStreaming(path, _folder.PathOf("images"), "my_dataset", log, bufferSize, splitFrom);

                var what = $"buffer {bufferSize}, {(splitFrom == 0 ? "two threads" : "one thread")}";
                Assert.That(streamed, Is.Not.Null, $"{what}: the streaming pass handed a valid file to the document reader");
                Assert.That(Dump(streamed!.Value), Is.EqualTo(expected), what);
                Assert.That(log.ToString(), Is.EqualTo(expectedLog), what);
            }
    }

    [Test]
    public void Streaming_keeps_unicode_file_names_numbers_and_segmentations_as_written()
    {
        var path = WriteRich();

        var (records, metadata) = CocoJsonDataset.Load(path, _folder.PathOf("images"), "coco_x", TextWriter.Null);

        Assert.That(records.Select(r => r.ImageId), Is.EqualTo(new[] { 3L, 7L, 12L }));
        Assert.That(records[1].FileName, Is.EqualTo(Path.Combine(_folder.PathOf("images"), "café", "日本 \"q\".jpg")));
        Assert.That(records[2].Annotations, Is.Empty);
        Assert.That(metadata.ThingClasses, Is.EqualTo(new[] { "person", "airplane", "tooth\u00adbrush" }));
        var first = records[1].Annotations[0];
        Assert.That(first.Polygons, Is.EqualTo(new[] { new double[] { 10, 20, 15, 20, 15, 28, 10, 28 }, [0.1, 0.2, 10, 0.25, Math.PI, -0.0] }));
        Assert.That(double.IsNegative(first.Polygons![1][5]), Is.True, "-0.0 keeps its sign");
        Assert.That(records[1].Annotations[1].Mask!.Counts, Is.EqualTo(new uint[] { 0, 5, 2395 }));
        var boxOnly = records[0].Annotations[1];
        Assert.That((boxOnly.Polygons, boxOnly.Mask), Is.EqualTo(((IReadOnlyList<double[]>?)null, (D2.Detection.Structures.Rle?)null)));
        Assert.That(boxOnly.BboxXyxy, Is.EqualTo(new[] { 0, 1e-3, 123456789.123456789, 1e-3 + 0.30000000000000004 }));
        Assert.That(records[0].Annotations.Select(a => a.CategoryId), Is.EqualTo(new[] { 1, 1, 2 }), "id 17's escaped image_id key counts");
    }

    // Plain annotations (the second half is read by a second thread); annotations holding arrays of objects that look
    // like annotations (the split guess lands inside one: the main pass must notice and read on itself); and a file
    // whose middle is in "images" (the guess is not in "annotations" at all).
    [TestCase("plain", true)]
    [TestCase("nested", false)]
    [TestCase("images", false)]
    public void A_large_file_reads_the_same_with_a_second_thread_and_buffers_grown_past_one_element(string shape, bool split)
    {
        var polygon = string.Join(", ", Enumerable.Range(0, 3000).Select(i => (i * 0.37).ToString("R", CultureInfo.InvariantCulture)));
        var nested = string.Join(", ", Enumerable.Range(0, 30).Select(i => $$"""{"id": {{i}}, "image_id": 1, "category_id": 1}"""));
        var annotations = string.Join(",\n", Enumerable.Range(1, 200).Select(i =>
            $$"""{"id": {{i}}, "image_id": {{1 + i % 3}}, "category_id": 1, "bbox": [{{i}}, 1, 2, 3], """
            + (shape == "nested" ? $"\"parts\": [{nested}], " : "")
            + $"\"segmentation\": [[{(i == 150 ? polygon : "0, 0, 4, 0, 4, 4")}]]}}"));
        var images = string.Join(",\n", Enumerable.Range(1, shape == "images" ? 3000 : 3).Select(i =>
            $$"""{"id": {{i}}, "file_name": "{{i}}.jpg", "height": 9, "width": 9}"""));
        var path = _folder.Write("big.json", $$"""
            {"images": [{{images}}],
             "annotations": [{{annotations}}], "categories": [{"id": 1, "name": "thing"}]}
            """);
        var (expected, expectedLog) = LoadWithDocument(path, "big");
        Assert.That(new FileInfo(path).Length, Is.GreaterThan(40 * 1024));

        var content = CocoJsonStream.Read(path, 1024, out var report, splitFrom: 0);
        var log = new StringWriter();
        var streamed = CocoJsonDataset.TryLoadStreaming(path, _folder.PathOf("images"), "big", log, 1024, splitFrom: 0);

        Assert.That(content, Is.Not.Null);
        Assert.That(report.Split, Is.EqualTo(split));
        Assert.That(report.BufferUsed, Is.GreaterThanOrEqualTo(32 * 1024), "the 3000-number polygon (~20 KB) does not fit 1 KB");
        Assert.That(Dump(streamed!.Value), Is.EqualTo(expected));
        Assert.That(log.ToString(), Is.EqualTo(expectedLog));
    }

    // A syntax error early, one far past the first buffers, a cut-off file, something after the root, a byte-order
    // mark, an empty file, and a number cut by a buffer boundary that turns invalid.
    [TestCase("""{"images": [{"id": 1,, }]}""")]
    [TestCase("""{"images": [], "categories": [], "annotations": [PAD{"id": 1, "image_id": 1, "bbox": [1, 2, 3, 4x]}]}""")]
    [TestCase("""{"images": [], "categories": [], "annotations": [PAD""")]
    [TestCase("""{"images": [], "categories": []} {}""")]
    [TestCase("\uFEFF{\"images\": [], \"categories\": []}")]
    [TestCase("")]
    [TestCase("""{"images": [], "categories": [], "annotations": [PAD{"id": 1, "image_id": 1, "bbox": [1, 2, 3, 1.e5]}]}""")]
    [TestCase("""{"images": [], "categories": [{"id": 1, "name": "a\u12"}]}""")]
    public void Invalid_json_is_reported_with_the_document_readers_line_and_position(string json)
    {
        var pad = string.Concat(Enumerable.Range(1, 40).Select(i => $$"""{"id": {{i}}, "image_id": 5, "bbox": [0, 0, 1, 1]},""" + "\n"));
        var path = _folder.Write("broken.json", json.Replace("PAD", pad, StringComparison.Ordinal));
        var expected = Assert.Throws<DatasetException>(() => LoadWithDocument(path, "x"))!.Message;
        Assert.That(expected, Does.Contain("is not valid JSON (line"));

        foreach (var bufferSize in new[] { 1, 2, 3, 7, 64, 1000, CocoJsonStream.DefaultBufferSize })
            foreach (var splitFrom in new[] { 0, long.MaxValue })
            {
                var error = Assert.Throws<DatasetException>(() => CocoJsonDataset.TryLoadStreaming(path, _folder.Root, "x", TextWriter.Null, bufferSize, splitFrom));
                Assert.That(error!.Message, Is.EqualTo(expected), $"buffer {bufferSize}, split from {splitFrom}");
            }
    }

    // Files the streaming pass hands to the document reader: problems it words, and a repeated key (the last wins there).
    [TestCase("""[1, 2]""", "must be a COCO JSON object")]
    [TestCase("""{"categories": []}""", "the top-level object has no \"images\" field")]
    [TestCase("""{"images": [], "categories": {}}""", "categories must be a JSON array, found an object")]
    [TestCase("""{"images": [{"id": 1, "file_name": "", "height": 1, "width": 1}], "categories": []}""", "images[0].file_name must be a non-empty string")]
    [TestCase("""{"images": [{"id": 1, "file_name": "a", "height": -1, "width": 1}], "categories": []}""", "images[0].height must be a non-negative integer, found -1")]
    [TestCase("""{"images": [], "categories": [{"id": 1.5, "name": "a"}]}""", "categories[0].id must be an integer id, found the number 1.5")]
    [TestCase("""{"images": [], "categories": [], "annotations": [{"image_id": 1}]}""", "annotations[0] has no \"id\" field")]
    [TestCase("""{"images": [], "categories": [], "annotations": [3]}""", "annotations[0] must be a JSON object, found the number 3")]
    [TestCase("""{"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}], "categories": [{"id": 1, "name": "t"}], "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "segmentation": [[0, 0, "1", 1, 2, 2]]}]}""",
        "annotations[0].segmentation[0][2] must be a number, found the string \"1\"")]
    [TestCase("""{"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}], "categories": [{"id": 1, "name": "t"}], "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": 1, "segmentation": {"size": [9, 10], "counts": [90]}}]}""",
        "annotations[0].segmentation (annotation id 5, image id 1) is not a usable RLE")]
    [TestCase("""{"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}], "categories": [{"id": 1, "name": "t"}], "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "iscrowd": "yes"}]}""",
        "annotations[0].iscrowd must be 0/1 or a boolean, found the string \"yes\"")]
    [TestCase("""{"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}], "categories": [{"id": 1, "name": "t"}], "annotations": [{"id": 5, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "bbox": [0, 0, 2, 2]}]}""", null)]
    [TestCase("""{"images": [], "categories": [], "images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}]}""", null)]
    public void Files_the_streaming_pass_does_not_take_go_to_the_document_reader_with_its_result(string json, string? message)
    {
        var path = _folder.Write("instances.json", json);

        var streamed = CocoJsonDataset.TryLoadStreaming(path, _folder.Root, "x", TextWriter.Null);

        Assert.That(streamed, Is.Null);
        if (message is null)
        {
            var (expected, expectedLog) = LoadWithDocument(path, "x");
            var log = new StringWriter();
            Assert.That(Dump(CocoJsonDataset.Load(path, _folder.PathOf("images"), "x", log)), Is.EqualTo(expected));
            Assert.That(log.ToString(), Is.EqualTo(expectedLog));
            return;
        }
        var expectedError = Assert.Throws<DatasetException>(() => LoadWithDocument(path, "x"))!.Message;
        var error = Assert.Throws<DatasetException>(() => CocoJsonDataset.Load(path, _folder.Root, "x", TextWriter.Null));
        Assert.That(error!.Message, Is.EqualTo(expectedError).And.Contain(message));
    }

    [Test]
    public void A_warning_logged_before_an_error_is_logged_once()
    {
        // Categories 3 and 8 are not 1..K (a remap warning) and annotation 5 names category 4: the document reader
        // warns, then fails; the streaming pass must not have warned before handing over.
        var path = _folder.Write("instances.json", """
            {"images": [{"id": 1, "file_name": "a.jpg", "height": 10, "width": 10}], "categories": [{"id": 3, "name": "a"}, {"id": 8, "name": "b"}],
             "annotations": [{"id": 5, "image_id": 1, "category_id": 4, "bbox": [0, 0, 1, 1]}]}
            """);
        var log = new StringWriter();

        var error = Assert.Throws<DatasetException>(() => CocoJsonDataset.Load(path, _folder.Root, "mine", log));

        Assert.That(error!.Message, Does.Contain("has category_id 4, which is not in \"categories\""));
        Assert.That(log.ToString().Split('\n').Count(l => l.Contains("Category ids in annotations", StringComparison.Ordinal)), Is.EqualTo(1));
    }

    [Test]
    public void Short_decimals_parse_to_the_same_bits_as_the_general_parser()
    {
        var random = new Random(17);
        var texts = new List<string> { "0", "-0", "0.0", "-0.0", "1", "-1", "0.1", "0.3", "239.97", "999999999999999", "99999999999999.9",
            "0.00000000000001", "123456789012.345", "4.35", "1.005", "2.675", "0.05" };
        for (var i = 0; i < 200_000; i++)
        {
            // Up to 15 digits (leading zeros included), a point anywhere among them, either sign.
            var digits = random.Next(1, 16);
            var text = random.NextInt64((long)Math.Pow(10, digits)).ToString(CultureInfo.InvariantCulture).PadLeft(digits, '0');
            var point = random.Next(0, digits);
            var integer = text[..(digits - point)].TrimStart('0') is { Length: > 0 } kept ? kept : "0";
            texts.Add((random.Next(2) == 0 ? "-" : "") + integer + (point > 0 ? "." + text[(digits - point)..] : ""));
        }
        foreach (var text in texts)
        {
            Assert.That(JsonNumbers.TryParseShortDecimal(Encoding.ASCII.GetBytes(text), out var value), Is.True, text);
            Assert.That(BitConverter.DoubleToInt64Bits(value), Is.EqualTo(BitConverter.DoubleToInt64Bits(double.Parse(text, CultureInfo.InvariantCulture))), text);
        }
        foreach (var text in new[] { "1e5", "1E-3", "1234567890123456", "0.1234567890123456", "-9007199254740993", "0.000000000000001" })
            Assert.That(JsonNumbers.TryParseShortDecimal(Encoding.ASCII.GetBytes(text), out _), Is.False, text);
    }

    static (string Dump, string Log) LoadWithDocument(string path, string datasetName)
    {
        var log = new StringWriter();
        var loaded = CocoJsonDataset.LoadWithDocument(path, Path.Combine(Path.GetDirectoryName(path)!, "images"), datasetName, log);
        return (Dump(loaded), log.ToString());
    }

    /// <summary>Everything the loader produces, doubles by their bits (so -0 and the last ulp count).</summary>
    static string Dump((List<DatasetRecord> Records, DatasetMetadata Metadata) loaded)
    {
        var text = new StringBuilder();
        var metadata = loaded.Metadata;
        text.AppendLine($"{metadata.Name}|{string.Join(",", metadata.ThingClasses)}|"
            + $"{string.Join(",", metadata.ThingDatasetIdToContiguousId.OrderBy(p => p.Key).Select(p => $"{p.Key}:{p.Value}"))}|{metadata.JsonFile}|{metadata.ImageRoot}");
        foreach (var record in loaded.Records)
        {
            text.AppendLine($"{record.ImageId} {record.FileName} {record.Height}x{record.Width}");
            foreach (var annotation in record.Annotations)
            {
                text.Append($"  {annotation.CategoryId} crowd={annotation.IsCrowd} box={Bits(annotation.BboxXyxy)}");
                foreach (var polygon in annotation.Polygons ?? [])
                    text.Append($" polygon={Bits(polygon)}");
                if (annotation.Mask is { } mask)
                    text.Append($" rle={mask.Height}x{mask.Width}:{string.Join(",", mask.Counts)}");
                text.AppendLine(annotation.Polygons is null ? " no-polygons" : "");
            }
        }
        return text.ToString();
    }

    static string Bits(IEnumerable<double> values) => string.Join(",", values.Select(v => BitConverter.DoubleToInt64Bits(v).ToString("X", CultureInfo.InvariantCulture)));
}
