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

    DatasetFolder folder = null!;
    StringWriter log = null!;

    [SetUp]
    public void CreateFolder()
    {
        folder = new DatasetFolder();
        log = new StringWriter();
    }

    [TearDown]
    public void DeleteFolder()
    {
        folder.Dispose();
        log.Dispose();
    }

    [Test]
    public void Builtin_coco_and_balloon_names_resolve_under_the_datasets_root()
    {
        folder.Write("coco/annotations/instances_val2017.json", Coco);
        folder.Write("balloon/train/via_region_data.json", Via);
        folder.WriteJpeg("balloon/train/b.jpg", 8, 6);
        var catalog = new DatasetCatalog(folder.Root, log);

        var (coco, cocoMetadata) = catalog.Get("coco_2017_val");
        var (balloon, balloonMetadata) = catalog.Get("balloon_train");

        Assert.That(coco[0].FileName, Is.EqualTo(folder.PathOf("coco/val2017/000000000001.jpg")));
        Assert.That((cocoMetadata.Name, cocoMetadata.ThingClasses[0]), Is.EqualTo(("coco_2017_val", "person")));
        Assert.That(balloon[0].FileName, Is.EqualTo(folder.PathOf("balloon/train/b.jpg")));
        Assert.That((balloon[0].Height, balloon[0].Width), Is.EqualTo((6, 8)));
        Assert.That((balloonMetadata.Name, balloonMetadata.ThingClasses[0]), Is.EqualTo(("balloon_train", "balloon")));
        Assert.That(catalog.Names, Is.EqualTo(new[] { "balloon_train", "balloon_val", "coco_2017_train", "coco_2017_val" }));
    }

    [Test]
    public void Get_of_an_unknown_name_lists_the_registered_names()
    {
        var catalog = new DatasetCatalog(folder.Root, log);
        catalog.Register("kites_train", folder.PathOf("kites.json"), folder.Root);

        var error = Assert.Throws<DatasetException>(() => catalog.Get("baloon_train"));

        Assert.That(error.Message, Does.Contain("'baloon_train' is not registered")
            .And.Contain("balloon_train, balloon_val, coco_2017_train, coco_2017_val, kites_train"));
    }

    [Test]
    public void Get_of_a_builtin_name_whose_files_are_absent_names_the_expected_path_and_the_root_variable()
    {
        var catalog = new DatasetCatalog(folder.Root, log);

        var error = Assert.Throws<DatasetException>(() => catalog.Get("coco_2017_train"));

        Assert.That(error.SourceName, Is.EqualTo(folder.PathOf("coco/annotations/instances_train2017.json")));
        Assert.That(error.Message, Does.Contain("file not found").And.Contain(DatasetCatalog.DatasetsRootVariable));
    }

    [Test]
    public void Register_detects_coco_and_via_json()
    {
        var catalog = new DatasetCatalog(folder.Root, log);
        catalog.Register("mine_coco", folder.Write("custom/coco.json", Coco), folder.PathOf("custom/images"));
        catalog.Register("mine_via", folder.Write("custom/via.json", Via), folder.PathOf("custom"), className: "kite");
        folder.WriteJpeg("custom/b.jpg", 8, 6);

        var (coco, cocoMetadata) = catalog.Get("mine_coco");
        var (via, viaMetadata) = catalog.Get("mine_via");

        Assert.That((coco[0].FileName, cocoMetadata.ThingClasses[0]), Is.EqualTo((folder.PathOf("custom/images/000000000001.jpg"), "person")));
        Assert.That((via[0].Annotations[0].Polygons![0][0], viaMetadata.ThingClasses[0]), Is.EqualTo((1.5, "kite")));
    }

    [Test]
    public void Register_of_a_taken_name_is_an_error()
    {
        var catalog = new DatasetCatalog(folder.Root, log);

        var error = Assert.Throws<DatasetException>(() => catalog.Register("balloon_val", "x.json", folder.Root));

        Assert.That(error.Message, Does.Contain("'balloon_val' is already registered"));
    }

    [Test]
    public void Get_of_json_in_neither_format_says_so()
    {
        var catalog = new DatasetCatalog(folder.Root, log);
        catalog.Register("odd", folder.Write("odd.json", """{"items": [1, 2]}"""), folder.Root);

        var error = Assert.Throws<DatasetException>(() => catalog.Get("odd"));

        Assert.That(error.Message, Does.StartWith(folder.PathOf("odd.json")).And.Contain("neither COCO json").And.Contain("nor VIA json"));
    }

    [Test]
    public void Datasets_root_is_the_argument_else_D2_DATASETS_else_DETECTRON2_DATASETS_else_datasets_under_the_current_folder()
    {
        var saved = Environment.GetEnvironmentVariable(DatasetCatalog.DatasetsRootVariable);
        var savedDetectron2 = Environment.GetEnvironmentVariable(DatasetCatalog.Detectron2DatasetsRootVariable);
        try
        {
            Environment.SetEnvironmentVariable(DatasetCatalog.DatasetsRootVariable, folder.PathOf("from-env"));
            Environment.SetEnvironmentVariable(DatasetCatalog.Detectron2DatasetsRootVariable, folder.PathOf("from-detectron2"));
            Assert.That(DatasetCatalog.ResolveDatasetsRoot(folder.PathOf("explicit")), Is.EqualTo(folder.PathOf("explicit")));
            Assert.That(new DatasetCatalog(log: log).DatasetsRoot, Is.EqualTo(folder.PathOf("from-env")));
            Environment.SetEnvironmentVariable(DatasetCatalog.DatasetsRootVariable, null);
            Assert.That(DatasetCatalog.ResolveDatasetsRoot(), Is.EqualTo(folder.PathOf("from-detectron2")), "a Detectron2 user's environment");
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
