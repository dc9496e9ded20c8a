using D2.Detection.Config;

namespace D2.Detection.Tests.Config;

public class ModelZooTests
{
    private const string MaskRCNN3x = "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml";

    private static readonly string[] DetectronNames =
    [
        "Base-RCNN-FPN.yaml",
        "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_1x.yaml",
        MaskRCNN3x,
        "COCO-InstanceSegmentation/mask_rcnn_R_101_FPN_3x.yaml",
        "COCO-Detection/faster_rcnn_R_50_FPN_1x.yaml",
        "COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml",
        "COCO-Detection/faster_rcnn_R_101_FPN_3x.yaml",
    ];

    private static IEnumerable<string> AllZooConfigs() => ModelZoo.ConfigNames;

    [Test]
    public void Zoo_holds_detectron2_names_and_small_cpu_configs()
    {
        Assert.That(ModelZoo.ConfigNames, Is.SupersetOf(DetectronNames));
        Assert.That(ModelZoo.ConfigNames, Does.Contain("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml"));
        Assert.That(ModelZoo.ConfigNames, Does.Contain("Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml"));
    }

    [TestCaseSource(nameof(AllZooConfigs))]
    public void Every_zoo_config_resolves_and_validates(string name)
    {
        var cfg = ConfigLoader.Load(name);

        Assert.That(cfg.IsFrozen, Is.True);
        Assert.That(cfg["VERSION"], Is.EqualTo(2L));
    }

    [Test]
    public void Resolved_mask_rcnn_R_50_FPN_3x_equals_detectron2_dump_key_by_key()
    {
        var resolved = DefaultConfig.Create();
        resolved.MergeFromFile(ModelZoo.GetConfigFile(MaskRCNN3x));
        var detectron2 = ConfigFixtures.LoadDump(ConfigFixtures.MaskRCNN3xDump);

        Assert.That(resolved.Differences(detectron2), Is.Empty);
        Assert.That(resolved.Dump(), Is.EqualTo(ConfigFixtures.ExpandedText(ConfigFixtures.MaskRCNN3xDump)));
    }

    [Test]
    public void Resolved_mask_rcnn_3x_keeps_tuple_keys_as_tuples()
    {
        var cfg = ModelZoo.GetConfig(MaskRCNN3x);

        Assert.That(cfg["SOLVER.STEPS"], Is.EqualTo(CfgSequence.Tuple(210000L, 250000L)));
        Assert.That(cfg["INPUT.MIN_SIZE_TRAIN"], Is.EqualTo(CfgSequence.Tuple(640L, 672L, 704L, 736L, 768L, 800L)));
        Assert.That(cfg["DATASETS.TRAIN"], Is.EqualTo(CfgSequence.Tuple("coco_2017_train")));
        Assert.That(cfg["MODEL.RESNETS.OUT_FEATURES"], Is.EqualTo(CfgSequence.List("res2", "res3", "res4", "res5")));
    }

    [Test]
    public void Zoo_variants_differ_from_mask_rcnn_3x_only_where_detectron2_says()
    {
        var mask3x = ModelZoo.GetConfig(MaskRCNN3x);

        Assert.That(ModelZoo.GetConfig("COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml").Differences(mask3x), Is.EqualTo(new[] { "MODEL.MASK_ON: False != True" }));
        Assert.That(ModelZoo.GetConfig("COCO-InstanceSegmentation/mask_rcnn_R_101_FPN_3x.yaml").Differences(mask3x), Is.EquivalentTo(new[]
        {
            "MODEL.WEIGHTS: 'detectron2://ImageNetPretrained/MSRA/R-101.pkl' != 'detectron2://ImageNetPretrained/MSRA/R-50.pkl'",
            "MODEL.RESNETS.DEPTH: 101 != 50",
        }));
        Assert.That(ModelZoo.GetConfig("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_1x.yaml").Differences(mask3x), Is.EquivalentTo(new[]
        {
            "SOLVER.STEPS: (60000, 80000) != (210000, 250000)",
            "SOLVER.MAX_ITER: 90000 != 270000",
        }));
    }

    [Test]
    public void Zoo_names_resolve_with_or_without_yaml_and_scheme()
    {
        Assert.That(ModelZoo.GetConfigFile(MaskRCNN3x), Is.EqualTo("model-zoo://" + MaskRCNN3x));
        Assert.That(ModelZoo.GetConfigFile("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x"), Is.EqualTo("model-zoo://" + MaskRCNN3x));
        Assert.That(ModelZoo.GetConfigFile("model-zoo://" + MaskRCNN3x), Is.EqualTo("model-zoo://" + MaskRCNN3x));
    }

    [Test]
    public void A_file_path_resolves_to_its_full_path()
    {
        using var directory = new TempConfigDirectory();
        var path = directory.Write("my.yaml", "SOLVER:\n  MAX_ITER: 10\n");

        Assert.That(ModelZoo.GetConfigFile(path), Is.EqualTo(Path.GetFullPath(path)));
    }

    [Test]
    public void Unknown_zoo_name_is_an_error_listing_the_zoo()
    {
        var error = Assert.Throws<ConfigException>(() => ModelZoo.GetConfigFile("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_9x"));

        Assert.That(error!.Message, Does.Contain("mask_rcnn_R_50_FPN_9x"));
        Assert.That(error.Message, Does.Contain(MaskRCNN3x));
        Assert.That(error.Message, Does.Contain("COCO-Detection/faster_rcnn_R_101_FPN_3x.yaml"));
    }

    [TestCase("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml", true)]
    [TestCase("Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml", false)]
    public void Small_cpu_configs_train_a_light_r18_gn_model_from_scratch(string name, bool maskOn)
    {
        var cfg = ConfigLoader.Load(name);

        Assert.That(cfg.Get<bool>("MODEL.MASK_ON"), Is.EqualTo(maskOn));
        Assert.That(cfg.Get<string>("MODEL.DEVICE"), Is.EqualTo("cpu"));
        Assert.That(cfg.Get<string>("MODEL.WEIGHTS"), Is.Empty);
        Assert.That(cfg.Get<int>("MODEL.BACKBONE.FREEZE_AT"), Is.Zero);
        Assert.That(cfg.Get<int>("MODEL.RESNETS.DEPTH"), Is.EqualTo(18));
        Assert.That(cfg.Get<int>("MODEL.RESNETS.RES2_OUT_CHANNELS"), Is.EqualTo(64));
        Assert.That(cfg.Get<string>("MODEL.RESNETS.NORM"), Is.EqualTo("GN"));
        Assert.That(cfg.Get<int>("MODEL.FPN.OUT_CHANNELS"), Is.EqualTo(128));
        Assert.That(cfg.Get<bool>("SOLVER.CLIP_GRADIENTS.ENABLED"), Is.True);
        Assert.That(cfg.Get<int>("INPUT.MAX_SIZE_TRAIN"), Is.EqualTo(320));

        // One anchor size per RPN level, and the ROI heads pool from levels the FPN makes.
        var rpnLevels = cfg.Get<string[]>("MODEL.RPN.IN_FEATURES");
        Assert.That(cfg.Get<double[][]>("MODEL.ANCHOR_GENERATOR.SIZES"), Has.Length.EqualTo(rpnLevels.Length));
        Assert.That(rpnLevels, Is.SupersetOf(cfg.Get<string[]>("MODEL.ROI_HEADS.IN_FEATURES")));
        Assert.That(cfg.Get<string[]>("MODEL.FPN.IN_FEATURES"), Is.EqualTo(cfg.Get<string[]>("MODEL.RESNETS.OUT_FEATURES")));
    }
}
