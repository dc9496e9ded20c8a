using D2.Detection.Data.Datasets;

namespace D2.Detection.Tests.Datasets;

/// <summary>Detectron2's builtin dataset names resolved under a datasets root, and custom registrations.</summary>
public class DatasetCatalogTests
{
    const string Coco = """
        {"images": [{"id": 1, "file_name": "000000000001.jpg", "height": 10, "width": 12}],
         "categories": [{"id": 1, "name": "person"}],
         "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "iscrowd": 0}]}
        """;

    const string Via = """
        {"b.jpg1": {"filename": "b.jpg", "regions": {"0": {"shape_attributes": {"name": "polygon", "all_points_x": [1, 5, 5], "all_points_y": [1, 1, 5]}}}}}
        """;

    DatasetFolder _folder = null!;
    StringWriter _log = null!;

    [SetUp]
    public void CreateFolder()
    {
        _folder = new DatasetFolder();
        _log = new StringWriter();
    }

    [TearDown]
    public void DeleteFolder()
    {
        _folder.Dispose();
        _log.Dispose();
    }

    [Test]
    public void Builtin_coco_and_balloon_names_resolve_under_the_datasets_root()
    {
        _folder.Write("coco/annotations/instances_val2017.json", Coco);
        _folder.Write("balloon/train/via_region_data.json", Via);
        _folder.WriteJpeg("balloon/train/b.jpg", 8, 6);
        var catalog = new DatasetCatalog(_folder.Root, _log);

        var (coco, cocoMetadata) = catalog.Get("coco_2017_val");
        var (balloon, balloonMetadata) = catalog.Get("balloon_train");

        Assert.That(coco[0].FileName, Is.EqualTo(_folder.PathOf("coco/val2017/000000000001.jpg")));
        Assert.That((cocoMetadata.Name, cocoMetadata.ThingClasses[0]), Is.EqualTo(("coco_2017_val", "person")));
        Assert.That(balloon[0].FileName, Is.EqualTo(_folder.PathOf("balloon/train/b.jpg")));
        Assert.That((balloon[0].Height, balloon[0].Width), Is.EqualTo((6, 8)));
        Assert.That((balloonMetadata.Name, balloonMetadata.ThingClasses[0]), Is.EqualTo(("balloon_train", "balloon")));
        Assert.That(catalog.Names, Is.EqualTo(new[] { "balloon_train", "balloon_val", "coco_2017_train", "coco_2017_val" }));
    }

    [Test]
    public void Get_of_an_unknown_name_lists_the_registered_names()
    {
        var catalog = new DatasetCatalog(_folder.Root, _log);
        catalog.Register("kites_train", _folder.PathOf("kites.json"), _folder.Root);

        var error = Assert.Throws<DatasetException>(() => catalog.Get("baloon_train"));

        Assert.That(error.Message, Does.Contain("'baloon_train' is not registered")
            .And.Contain("balloon_train, balloon_val, coco_2017_train, coco_2017_val, kites_train"));
    }

    [Test]
    public void Get_of_a_builtin_name_whose_files_are_absent_names_the_expected_path_and_the_root_variable()
    {
        var catalog = new DatasetCatalog(_folder.Root, _log);

        var error = Assert.Throws<DatasetException>(() => catalog.Get("coco_2017_train"));

        Assert.That(error.SourceName, Is.EqualTo(_folder.PathOf("coco/annotations/instances_train2017.json")));
        Assert.That(error.Message, Does.Contain("file not found").And.Contain(DatasetCatalog.DatasetsRootVariable));
    }

    [Test]
    public void Register_detects_coco_and_via_json()
    {
        var catalog = new DatasetCatalog(_folder.Root, _log);
        catalog.Register("mine_coco", _folder.Write("custom/coco.json", Coco), _folder.PathOf("custom/images"));
        catalog.Register("mine_via", _folder.Write("custom/via.json", Via), _folder.PathOf("custom"), className: "kite");
        _folder.WriteJpeg("custom/b.jpg", 8, 6);

        var (coco, cocoMetadata) = catalog.Get("mine_coco");
        var (via, viaMetadata) = catalog.Get("mine_via");

        Assert.That((coco[0].FileName, cocoMetadata.ThingClasses[0]), Is.EqualTo((_folder.PathOf("custom/images/000000000001.jpg"), "person")));
        Assert.That((via[0].Annotations[0].Polygons![0][0], viaMetadata.ThingClasses[0]), Is.EqualTo((1.5, "kite")));
    }

    [Test]
    public void Register_of_a_taken_name_is_an_error()
    {
        var catalog = new DatasetCatalog(_folder.Root, _log);

        var error = Assert.Throws<DatasetException>(() => catalog.Register("balloon_val", "x.json", _folder.Root));

        Assert.That(error.Message, Does.Contain("'balloon_val' is already registered"));
    }

    [Test]
    public void Get_of_json_in_neither_format_says_so()
    {
        var catalog = new DatasetCatalog(_folder.Root, _log);
        catalog.Register("odd", _folder.Write("odd.json", """{"items": [1, 2]}"""), _folder.Root);

        var error = Assert.Throws<DatasetException>(() => catalog.Get("odd"));

        Assert.That(error.Message, Does.StartWith(_folder.PathOf("odd.json")).And.Contain("neither COCO json").And.Contain("nor VIA json"));
    }

    [Test]
    public void Datasets_root_is_the_argument_else_D2_DATASETS_else_DETECTRON2_DATASETS_else_datasets_under_the_current_folder()
    {
        var saved = Environment.GetEnvironmentVariable(DatasetCatalog.DatasetsRootVariable);
        var savedDetectron2 = Environment.GetEnvironmentVariable(DatasetCatalog.Detectron2DatasetsRootVariable);
        try
        {
            Environment.SetEnvironmentVariable(DatasetCatalog.DatasetsRootVariable, _folder.PathOf("from-env"));
            Environment.SetEnvironmentVariable(DatasetCatalog.Detectron2DatasetsRootVariable, _folder.PathOf("from-detectron2"));
            Assert.That(DatasetCatalog.ResolveDatasetsRoot(_folder.PathOf("explicit")), Is.EqualTo(_folder.PathOf("explicit")));
            Assert.That(new DatasetCatalog(log: _log).DatasetsRoot, Is.EqualTo(_folder.PathOf("from-env")));
            Environment.SetEnvironmentVariable(DatasetCatalog.DatasetsRootVariable, null);
            Assert.That(DatasetCatalog.ResolveDatasetsRoot(), Is.EqualTo(_folder.PathOf("from-detectron2")), "a Detectron2 user's environment");
            Environment.SetEnvironmentVariable(DatasetCatalog.Detectron2DatasetsRootVariable, null);
            Assert.That(DatasetCatalog.ResolveDatasetsRoot(), Is.EqualTo(Path.GetFullPath("datasets")));
        }
        finally
        {
            Environment.SetEnvironmentVariable(DatasetCatalog.DatasetsRootVariable, saved);
            Environment.SetEnvironmentVariable(DatasetCatalog.Detectron2DatasetsRootVariable, savedDetectron2);
        }
    }
}
