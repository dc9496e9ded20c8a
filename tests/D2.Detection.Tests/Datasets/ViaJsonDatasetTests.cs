using D2.Detection.Data.Datasets;

namespace D2.Detection.Tests.Datasets;

/// <summary>The balloon tutorial's get_balloon_dicts on a hand-written via_region_data.json and JPEGs drawn by the test.</summary>
public class ViaJsonDatasetTests
{
    // Shaped like the balloon dataset's export: keys are file name + file size, regions an object keyed "0", "1".
    // The second image uses VIA 2's list form of regions.
    const string Via = """
        {"b.jpg1234": {"fileref": "", "size": 1234, "filename": "b.jpg", "base64_img_data": "", "file_attributes": {},
                       "regions": {"0": {"shape_attributes": {"name": "polygon", "all_points_x": [2, 10, 6], "all_points_y": [3, 3, 9]}, "region_attributes": {}},
                                   "1": {"shape_attributes": {"name": "polygon", "all_points_x": [1, 4, 4, 1], "all_points_y": [1, 1, 5, 5]}, "region_attributes": {}}}},
         "a.jpg99": {"filename": "a.jpg", "regions": [{"shape_attributes": {"name": "polygon", "all_points_x": [0, 15, 15], "all_points_y": [0, 0, 11]}, "region_attributes": {}}]}}
        """;

    DatasetFolder _folder = null!;
    StringWriter _log = null!;

    [SetUp]
    public void CreateFolder()
    {
        _folder = new DatasetFolder();
        _log = new StringWriter();
        _folder.WriteJpeg("train/b.jpg", 24, 16);
        _folder.WriteJpeg("train/a.jpg", 16, 12);
    }

    [TearDown]
    public void DeleteFolder()
    {
        _folder.Dispose();
        _log.Dispose();
    }

    [Test]
    public void Load_reads_sizes_from_the_images_and_numbers_images_in_file_order()
    {
        var (records, metadata) = ViaJsonDataset.Load(_folder.Write("train/via_region_data.json", Via), log: _log);

        Assert.That(records.Select(r => (r.ImageId, r.Height, r.Width)), Is.EqualTo(new[] { (0L, 16, 24), (1L, 12, 16) }));
        Assert.That(records.Select(r => r.FileName), Is.EqualTo(new[] { _folder.PathOf("train/b.jpg"), _folder.PathOf("train/a.jpg") }));
        Assert.That(metadata.ThingClasses, Is.EqualTo(new[] { "balloon" }));
        Assert.That(metadata.ThingDatasetIdToContiguousId, Is.EquivalentTo(new Dictionary<int, int> { [0] = 0 }));
        Assert.That(metadata.ImageRoot, Is.EqualTo(_folder.PathOf("train")));
    }

    [Test]
    public void Load_moves_points_to_pixel_centres_and_boxes_the_unshifted_points()
    {
        var (records, _) = ViaJsonDataset.Load(_folder.Write("train/via_region_data.json", Via), log: _log);

        var first = records[0].Annotations[0];
        Assert.That(first.Polygons, Is.EqualTo(new[] { new[] { 2.5, 3.5, 10.5, 3.5, 6.5, 9.5 } }));
        Assert.That(first.BboxXyxy, Is.EqualTo(new double[] { 2, 3, 10, 9 }));
        Assert.That((first.CategoryId, first.IsCrowd, first.Mask), Is.EqualTo((0, false, (D2.Detection.Structures.Rle?)null)));
        Assert.That(records.Select(r => r.Annotations.Count), Is.EqualTo(new[] { 2, 1 }));
        Assert.That(records[1].Annotations[0].BboxXyxy, Is.EqualTo(new double[] { 0, 0, 15, 11 }));
    }

    [Test]
    public void Load_uses_the_given_image_root_and_class_name()
    {
        var json = _folder.Write("annotations/via.json", Via);

        var (records, metadata) = ViaJsonDataset.Load(json, _folder.PathOf("train"), "kite", "kites_train", _log);

        Assert.That(records[0].FileName, Is.EqualTo(_folder.PathOf("train/b.jpg")));
        Assert.That((metadata.Name, metadata.ThingClasses[0], metadata.JsonFile), Is.EqualTo(("kites_train", "kite", json)));
    }

    [Test]
    public void Load_reads_a_via2_project_file()
    {
        var json = _folder.Write("train/project.json", $$"""{"_via_settings": {}, "_via_img_metadata": {{Via}}}""");

        var (records, _) = ViaJsonDataset.Load(json, log: _log);

        Assert.That(records.Sum(r => r.Annotations.Count), Is.EqualTo(3));
    }

    [Test]
    public void Load_skips_degenerate_regions_with_a_warning_naming_the_file_and_region()
    {
        const string via = """
            {"b.jpg": {"filename": "b.jpg", "regions": {
               "0": {"shape_attributes": {"name": "polygon", "all_points_x": [1, 5], "all_points_y": [1, 5]}},
               "1": {"shape_attributes": {"name": "polygon", "all_points_x": [1, 5, 9], "all_points_y": [1, 5]}},
               "2": {"shape_attributes": {"name": "polygon", "all_points_x": [1, 2, 3], "all_points_y": [1, 2, 3]}},
               "3": {"shape_attributes": {"name": "circle", "cx": 5, "cy": 5, "r": 2}},
               "4": {"shape_attributes": {"name": "polygon", "all_points_x": [1, 5, 5], "all_points_y": [1, 1, 5]}}}}}
            """;

        var (records, _) = ViaJsonDataset.Load(_folder.Write("train/via_region_data.json", via), log: _log);

        Assert.That(records[0].Annotations, Has.Count.EqualTo(1));
        var warnings = _log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(warnings, Has.Length.EqualTo(4));
        Assert.That(warnings, Has.All.Contain("WARNING").And.Contain(_folder.PathOf("train/b.jpg")));
        Assert.That(warnings[0], Does.Contain("regions[0]").And.Contain("2 points"));
        Assert.That(warnings[1], Does.Contain("regions[1]").And.Contain("3 x but 2 y"));
        Assert.That(warnings[2], Does.Contain("regions[2]").And.Contain("no area"));
        Assert.That(warnings[3], Does.Contain("regions[3]").And.Contain("\"circle\""));
    }

    [TestCase(6, 24, 16)]
    [TestCase(3, 16, 24)]
    public void Load_reports_the_size_an_exif_oriented_image_is_displayed_at(int orientation, int expectedHeight, int expectedWidth)
    {
        _folder.WriteJpeg("train/r.jpg", 24, 16, orientation);
        var json = _folder.Write("train/via_region_data.json", """{"r.jpg": {"filename": "r.jpg", "regions": {}}}""");

        var (records, _) = ViaJsonDataset.Load(json, log: _log);

        Assert.That((records[0].Height, records[0].Width), Is.EqualTo((expectedHeight, expectedWidth)));
    }

    [Test]
    public void Load_names_a_missing_image_and_the_json_that_lists_it()
    {
        var json = _folder.Write("val/via_region_data.json", """{"c.jpg": {"filename": "c.jpg", "regions": {}}}""");

        var error = Assert.Throws<DatasetException>(() => ViaJsonDataset.Load(json, log: _log));

        Assert.That(error.Message, Does.StartWith(_folder.PathOf("val/c.jpg")).And.Contain("image file not found").And.Contain(json));
    }

    [Test]
    public void Load_names_a_missing_field_with_the_entry_key()
    {
        var json = _folder.Write("train/via_region_data.json", """{"b.jpg77": {"filename": "b.jpg"}}""");

        var error = Assert.Throws<DatasetException>(() => ViaJsonDataset.Load(json, log: _log));

        Assert.That(error.Message, Is.EqualTo($"{json}: \"b.jpg77\" has no \"regions\" field"));
    }

    [Test]
    public void Load_names_a_file_that_is_not_an_image()
    {
        _folder.Write("train/x.jpg", "not a jpeg");
        var json = _folder.Write("train/via_region_data.json", """{"x.jpg": {"filename": "x.jpg", "regions": {}}}""");

        var error = Assert.Throws<DatasetException>(() => ViaJsonDataset.Load(json, log: _log));

        Assert.That(error.Message, Does.StartWith(_folder.PathOf("train/x.jpg")).And.Contain("not a readable image"));
    }
}
