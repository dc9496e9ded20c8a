using D2.Detection.Data.Datasets;

namespace D2.Detection.Tests.Datasets;

/// <summary>
/// SageMaker Ground Truth bounding-box manifests, written by hand in Ground Truth's output shape (source-ref, the label
/// attribute with annotations and image_size, the label's -metadata with class-map and type) over JPEGs drawn by the test.
/// </summary>
public class GroundTruthManifestDatasetTests
{
    // Two images of a labeling job "fruit": class 0 apple, 1 pear; line 2 gives the class-map with both classes.
    const string Manifest = """
        {"source-ref":"s3://bucket/jobs/fruit/images/a.jpg","fruit":{"image_size":[{"width":24,"height":16,"depth":3}],"annotations":[{"class_id":1,"top":2,"left":3,"height":5,"width":7}]},"fruit-metadata":{"objects":[{"confidence":0.9}],"class-map":{"1":"pear"},"type":"groundtruth/object-detection","human-annotated":"yes","creation-date":"2024-01-01T00:00:00.000000","job-name":"labeling-job/fruit"}}

        {"source-ref":"s3://bucket/jobs/fruit/images/b.jpg","fruit":{"image_size":[{"width":16,"height":12,"depth":3}],"annotations":[{"class_id":0,"top":0,"left":0,"height":12,"width":8},{"class_id":1,"top":1.5,"left":2.25,"height":3,"width":4}]},"fruit-metadata":{"class-map":{"0":"apple","1":"pear"},"type":"groundtruth/object-detection"}}
        """;

    DatasetFolder _folder = null!;
    StringWriter _log = null!;

    [SetUp]
    public void CreateFolder()
    {
        _folder = new DatasetFolder();
        _log = new StringWriter();
        _folder.WriteJpeg("channel/images/a.jpg", 24, 16);
        _folder.WriteJpeg("channel/images/b.jpg", 16, 12);
    }

    [TearDown]
    public void DeleteFolder()
    {
        _folder.Dispose();
        _log.Dispose();
    }

    (List<D2.Detection.Data.DatasetRecord> Records, D2.Detection.Data.DatasetMetadata Metadata) Load(string manifest, string? label = null) =>
        GroundTruthManifestDataset.Load(_folder.Write("channel/output.manifest", manifest), _folder.PathOf("channel"), label, "fruit_train", _log);

    DatasetException LoadError(string manifest, string? label = null) =>
        Assert.Throws<DatasetException>(() => Load(manifest, label))!;

    [Test]
    public void Load_converts_xywh_boxes_to_xyxy_and_takes_sizes_and_classes_from_the_manifest()
    {
        var (records, metadata) = Load(Manifest);

        // Image ids are line numbers; the blank line 2 is skipped.
        Assert.That(records.Select(r => (r.ImageId, r.Height, r.Width)), Is.EqualTo(new[] { (1L, 16, 24), (3L, 12, 16) }));
        Assert.That(records.Select(r => r.FileName), Is.EqualTo(new[] { _folder.PathOf("channel/images/a.jpg"), _folder.PathOf("channel/images/b.jpg") }));
        Assert.That(records[0].Annotations.Single().BboxXyxy, Is.EqualTo(new double[] { 3, 2, 10, 7 }));
        Assert.That(records[1].Annotations.Select(a => a.BboxXyxy), Is.EqualTo(new[] { new double[] { 0, 0, 8, 12 }, [2.25, 1.5, 6.25, 4.5] }));
        Assert.That(records.SelectMany(r => r.Annotations).Select(a => (a.CategoryId, a.IsCrowd, a.Polygons, a.Mask)),
            Is.EqualTo(new (int, bool, IReadOnlyList<double[]>?, D2.Detection.Structures.Rle?)[] { (1, false, null, null), (0, false, null, null), (1, false, null, null) }));
        // The union of the lines' class-maps, in class-id order.
        Assert.That(metadata.ThingClasses, Is.EqualTo(new[] { "apple", "pear" }));
        Assert.That(metadata.ThingDatasetIdToContiguousId, Is.EquivalentTo(new Dictionary<int, int> { [0] = 0, [1] = 1 }));
        Assert.That((metadata.Name, metadata.JsonFile, metadata.ImageRoot), Is.EqualTo(("fruit_train", _folder.PathOf("channel/output.manifest"), _folder.PathOf("channel"))));
        Assert.That(_log.ToString(), Does.Contain("Loaded 2 images with 3 boxes").And.Contain("(label 'fruit')"));
    }

    [Test]
    public void Class_ids_with_gaps_map_to_contiguous_ids_and_back()
    {
        var manifest = Manifest.Replace("\"class_id\":1", "\"class_id\":5").Replace("\"1\":\"pear\"", "\"5\":\"pear\"");
        var (records, metadata) = Load(manifest);

        Assert.That(metadata.ThingClasses, Is.EqualTo(new[] { "apple", "pear" }));
        Assert.That(metadata.ThingDatasetIdToContiguousId, Is.EquivalentTo(new Dictionary<int, int> { [0] = 0, [5] = 1 }));
        Assert.That(records.SelectMany(r => r.Annotations).Select(a => a.CategoryId), Is.EqualTo(new[] { 1, 0, 1 }));
    }

    [Test]
    public void Images_are_found_by_the_longest_existing_trailing_part_of_the_S3_key()
    {
        // A channel made from s3://bucket/jobs/fruit/ holds images/a.jpg; one made from .../images/ holds a.jpg.
        Assert.That(ManifestImages.Resolve(_folder.PathOf("channel"), "s3://bucket/jobs/fruit/images/a.jpg"), Is.EqualTo(_folder.PathOf("channel/images/a.jpg")));
        Assert.That(ManifestImages.Resolve(_folder.PathOf("channel/images"), "s3://bucket/jobs/fruit/images/a.jpg"), Is.EqualTo(_folder.PathOf("channel/images/a.jpg")));
        _folder.WriteJpeg("channel/a.jpg", 8, 8);
        Assert.That(ManifestImages.Resolve(_folder.PathOf("channel"), "s3://bucket/jobs/fruit/images/a.jpg"), Is.EqualTo(_folder.PathOf("channel/images/a.jpg")),
            "images/a.jpg is a longer match than a.jpg");
        Assert.That(ManifestImages.Resolve(_folder.PathOf("channel"), "s3://bucket/other/a.jpg"), Is.EqualTo(_folder.PathOf("channel/a.jpg")));
        Assert.That(ManifestImages.Resolve(_folder.PathOf("channel"), "s3://bucket/c.jpg"), Is.Null);
        _folder.WriteJpeg("channel/outside.jpg", 8, 8);
        Assert.That(ManifestImages.Resolve(_folder.PathOf("channel/images"), "s3://bucket/../outside.jpg"), Is.Null, "a key cannot climb out of the folder");
        Assert.That(ManifestImages.Resolve(_folder.PathOf("elsewhere"), _folder.PathOf("channel/a.jpg")), Is.EqualTo(_folder.PathOf("channel/a.jpg")), "an absolute local path is taken as is");
    }

    [Test]
    public void Missing_images_are_one_error_naming_their_lines()
    {
        File.Delete(_folder.PathOf("channel/images/b.jpg"));
        var error = LoadError(Manifest);
        Assert.That(error.Message, Does.Contain("1 image(s) not found under " + _folder.PathOf("channel")).And.Contain("line 3 (s3://bucket/jobs/fruit/images/b.jpg)"));
    }

    [Test]
    public void A_malformed_line_is_named_by_its_number()
    {
        var lines = Manifest.Split('\n');
        var error = LoadError(string.Join('\n', lines[0], lines[1], lines[2][..40]));
        Assert.That(error.Message, Does.StartWith(_folder.PathOf("channel/output.manifest") + ": line 3: is not valid JSON"));

        Assert.That(LoadError(lines[0] + "\n[1, 2]").Message, Does.Contain("line 2: must be a JSON object, found an array"));
        Assert.That(LoadError(lines[0] + "\n{\"fruit\": {\"annotations\": []}}").Message, Does.Contain("line 2: has no \"source-ref\""));
        Assert.That(LoadError(lines[0].Replace("\"left\":3", "\"left\":\"3\"")).Message,
            Does.Contain("line 1: \"fruit\".annotations[0].left must be a number, found the string \"3\""));
        Assert.That(LoadError(lines[0].Replace("\"width\":7", "\"width\":-7")).Message, Does.Contain("line 1: \"fruit\".annotations[0] has a negative size"));
        Assert.That(LoadError(lines[0].Replace("\"class_id\":1", "\"class_id\":1.5")).Message, Does.Contain("class_id must be a non-negative integer"));
        Assert.That(LoadError(lines[0].Replace("\"top\":2,", "")).Message, Does.Contain("line 1: \"fruit\".annotations[0] has no \"top\""));
        Assert.That(LoadError(lines[0].Replace("\"width\":24,", "")).Message, Does.Contain("line 1: \"fruit\".image_size[0].width must be a positive integer"));
    }

    [Test]
    public void A_class_id_missing_from_the_class_map_is_named_with_its_line_and_the_known_classes()
    {
        var error = LoadError(Manifest.Replace("\"class_id\":0", "\"class_id\":7"));
        Assert.That(error.Message, Does.Contain("line 3: class_id 7 is not in the class-map (0: apple, 1: pear)"));
    }

    [Test]
    public void Class_maps_that_disagree_and_a_manifest_without_one_are_errors()
    {
        Assert.That(LoadError(Manifest.Replace("\"0\":\"apple\",\"1\":\"pear\"", "\"0\":\"apple\",\"1\":\"quince\"")).Message,
            Does.Contain("line 3: class-map names class 1 'quince', but line 1 names it 'pear'"));
        Assert.That(LoadError(Manifest.Replace("\"class-map\"", "\"classes\"")).Message, Does.Contain("has no class-map"));
        Assert.That(LoadError(Manifest.Replace("{\"0\":\"apple\"", "{\"zero\":\"apple\"")).Message, Does.Contain("line 3: class-map key 'zero' is not a class id"));
    }

    [Test]
    public void The_label_attribute_is_detected_unless_there_are_several()
    {
        // A chained job adds a second bounding-box attribute to the same lines.
        var chained = string.Join('\n', Manifest.Split('\n').Select(line => line.Length == 0 ? line
            : line.Replace("\"fruit-metadata\"", "\"fruit-adjusted\":{\"annotations\":[]},\"fruit-metadata\"")));
        var error = LoadError(chained);
        Assert.That(error.Message, Does.Contain("has 2 bounding-box label attributes ('fruit' from line 1, 'fruit-adjusted' from line 1)")
            .And.Contain("label-attribute-name"));

        var (records, metadata) = Load(chained, label: "fruit");
        Assert.That(records.Sum(r => r.Annotations.Count), Is.EqualTo(3));
        Assert.That(metadata.ThingClasses, Is.EqualTo(new[] { "apple", "pear" }));

        Assert.That(LoadError(Manifest, label: "vegetable").Message, Does.Contain("line 1: has no \"vegetable\" label attribute (attributes: source-ref, fruit, fruit-metadata)"));
        Assert.That(LoadError("{\"source-ref\":\"s3://b/a.jpg\",\"category\":0}").Message, Does.Contain("has no bounding-box label attribute"));
    }

    [Test]
    public void Lines_Ground_Truth_failed_to_label_are_skipped_with_a_warning()
    {
        var manifest = Manifest + "\n{\"source-ref\":\"s3://bucket/jobs/fruit/images/c.jpg\",\"fruit-metadata\":{\"failure-reason\":\"ClientError: timed out\"}}";
        var (records, _) = Load(manifest);
        Assert.That(records, Has.Count.EqualTo(2));
        Assert.That(_log.ToString(), Does.Contain("line 4 (s3://bucket/jobs/fruit/images/c.jpg) has no label (ClientError: timed out); skipped."));
    }

    [Test]
    public void Without_image_size_the_size_comes_from_the_image_header()
    {
        var (records, _) = Load(Manifest.Replace("\"image_size\":[{\"width\":24,\"height\":16,\"depth\":3}],", ""));
        Assert.That((records[0].Height, records[0].Width), Is.EqualTo((16, 24)));
    }

    [Test]
    public void The_same_image_on_two_lines_is_an_error()
    {
        var lines = Manifest.Split('\n');
        Assert.That(LoadError(lines[0] + "\n" + lines[0]).Message, Does.Contain("line 2: s3://bucket/jobs/fruit/images/a.jpg is the image of line 1 too"));
    }

    [Test]
    public void The_catalog_detects_a_manifest_and_passes_the_label_attribute()
    {
        var manifest = _folder.Write("channel/output.manifest", Manifest);
        Assert.That(GroundTruthManifestDataset.LooksLikeManifest(manifest), Is.True);
        Assert.That(GroundTruthManifestDataset.LooksLikeManifest(_folder.Write("coco.json", """{"images": [], "annotations": [], "categories": []}""")), Is.False);

        var catalog = new DatasetCatalog(_folder.Root, _log);
        catalog.Register("fruit_train", manifest, _folder.PathOf("channel"));
        catalog.Register("fruit_named", manifest, _folder.PathOf("channel"), labelAttribute: "vegetable");
        var (records, metadata) = catalog.Get("fruit_train");
        Assert.That((records.Count, metadata.Name), Is.EqualTo((2, "fruit_train")));
        Assert.That(() => catalog.Get("fruit_named"), Throws.TypeOf<DatasetException>().With.Message.Contains("\"vegetable\""));
    }
}
