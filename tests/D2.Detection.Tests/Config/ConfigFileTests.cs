using D2.Detection.Config;

namespace D2.Detection.Tests.Config;

/// <summary>Merging YAML files: <c>_BASE_</c> inheritance and PyYAML + yacs typing of file values.</summary>
public class ConfigFileTests
{
    private static CfgNode Merge(string yaml)
    {
        using var directory = new TempConfigDirectory();
        var cfg = DefaultConfig.Create();
        cfg.MergeFromFile(directory.Write("config.yaml", yaml));
        return cfg;
    }

    private static ConfigException MergeFails(string yaml) =>
        Assert.Throws<ConfigException>(() => Merge(yaml))!;

    [Test]
    public void Base_path_is_relative_to_the_file_naming_it_and_merges_deeply()
    {
        using var directory = new TempConfigDirectory();
        directory.Write("Base.yaml", "MODEL:\n  MASK_ON: True\n  RPN:\n    NMS_THRESH: 0.6\n    LOSS_WEIGHT: 2.0\nSOLVER:\n  MAX_ITER: 100\n");
        directory.Write("a/Middle.yaml", "_BASE_: ../Base.yaml\nMODEL:\n  RPN:\n    NMS_THRESH: 0.5\n");
        var child = directory.Write("a/b/child.yaml", "_BASE_: \"../Middle.yaml\"\nSOLVER:\n  MAX_ITER: 200\n");

        var cfg = DefaultConfig.Create();
        cfg.MergeFromFile(child);

        Assert.That(cfg["MODEL.MASK_ON"], Is.True);
        Assert.That(cfg["MODEL.RPN.NMS_THRESH"], Is.EqualTo(0.5));
        Assert.That(cfg["MODEL.RPN.LOSS_WEIGHT"], Is.EqualTo(2.0));
        Assert.That(cfg["SOLVER.MAX_ITER"], Is.EqualTo(200L));
    }

    [Test]
    public void Base_list_merges_in_order_then_the_file()
    {
        using var directory = new TempConfigDirectory();
        directory.Write("one.yaml", "SOLVER:\n  MAX_ITER: 1\n  BASE_LR: 0.1\n");
        directory.Write("two.yaml", "SOLVER:\n  MAX_ITER: 2\n");
        var child = directory.Write("child.yaml", "_BASE_: [one.yaml, two.yaml]\nSOLVER:\n  GAMMA: 0.5\n");

        var cfg = DefaultConfig.Create();
        cfg.MergeFromFile(child);

        Assert.That(cfg["SOLVER.MAX_ITER"], Is.EqualTo(2L));
        Assert.That(cfg["SOLVER.BASE_LR"], Is.EqualTo(0.1));
        Assert.That(cfg["SOLVER.GAMMA"], Is.EqualTo(0.5));
    }

    [Test]
    public void A_local_file_can_inherit_a_zoo_config()
    {
        using var directory = new TempConfigDirectory();
        var local = directory.Write("balloon.yaml",
            "_BASE_: model-zoo://COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml\nMODEL:\n  ROI_HEADS:\n    NUM_CLASSES: 1\n");

        var cfg = ConfigLoader.Load(local);

        Assert.That(cfg["MODEL.ROI_HEADS.NUM_CLASSES"], Is.EqualTo(1L));
        Assert.That(cfg["MODEL.MASK_ON"], Is.True);
        Assert.That(cfg["MODEL.BACKBONE.NAME"], Is.EqualTo("build_resnet_fpn_backbone"));
    }

    [Test]
    public void Base_cycle_is_an_error_naming_the_chain()
    {
        using var directory = new TempConfigDirectory();
        var a = directory.Write("a.yaml", "_BASE_: b.yaml\n");
        directory.Write("b.yaml", "_BASE_: sub/../a.yaml\n");

        var error = Assert.Throws<ConfigException>(() => DefaultConfig.Create().MergeFromFile(a))!;

        Assert.That(error.Message, Does.Contain("cycle"));
        Assert.That(error.Message, Does.Contain("a.yaml -> ").And.Contain("b.yaml -> "));
    }

    [Test]
    public void Missing_base_is_an_error_naming_it_and_the_file_that_refers_to_it()
    {
        using var directory = new TempConfigDirectory();
        var child = directory.Write("child.yaml", "_BASE_: missing-base.yaml\n");

        var error = Assert.Throws<ConfigException>(() => DefaultConfig.Create().MergeFromFile(child))!;

        Assert.That(error.Message, Does.Contain("missing-base.yaml").And.Contain("does not exist").And.Contain(child));
    }

    [Test]
    public void Missing_file_is_an_error_naming_it()
    {
        var error = Assert.Throws<ConfigException>(() => DefaultConfig.Create().MergeFromFile("/no/such/config.yaml"))!;

        Assert.That(error.Message, Does.Contain("/no/such/config.yaml").And.Contain("does not exist"));
    }

    [Test]
    public void Unknown_key_in_a_file_is_an_error_naming_the_key_the_file_and_line()
    {
        using var directory = new TempConfigDirectory();
        var path = directory.Write("bad.yaml", "MODEL:\n  MASK_ON: True\n  ROI_HEADS:\n    NUM_CLASES: 3\n");

        var error = Assert.Throws<ConfigException>(() => DefaultConfig.Create().MergeFromFile(path))!;

        Assert.That(error.Key, Is.EqualTo("MODEL.ROI_HEADS.NUM_CLASES"));
        Assert.That(error.Message, Does.Contain("MODEL.ROI_HEADS.NUM_CLASES").And.Contain(path + ":4"));
        Assert.That(error.Message, Does.Contain("Did you mean MODEL.ROI_HEADS.NUM_CLASSES"));
    }

    [Test]
    public void Unknown_key_in_a_base_names_the_base_file()
    {
        using var directory = new TempConfigDirectory();
        var basePath = directory.Write("base.yaml", "SOLVER:\n  LR: 0.1\n");
        var child = directory.Write("child.yaml", "_BASE_: base.yaml\n");

        var error = Assert.Throws<ConfigException>(() => DefaultConfig.Create().MergeFromFile(child))!;

        Assert.That(error.Message, Does.Contain("SOLVER.LR").And.Contain(basePath + ":2"));
    }

    [Test]
    public void Int_into_a_float_key_is_an_error_with_the_fix()
    {
        var error = MergeFails("SOLVER:\n  BASE_LR: 1\n");

        Assert.That(error.Key, Is.EqualTo("SOLVER.BASE_LR"));
        Assert.That(error.Message, Does.Contain("float").And.Contain("int").And.Contain("Write 1.0"));
    }

    [Test]
    public void Yaml_values_are_typed_as_pyyaml_then_decoded_as_yacs_does()
    {
        var cfg = Merge(
            "SOLVER:\n  BASE_LR: 1e-4\n  WEIGHT_DECAY: 5.0e-05\n  STEPS: (100, 200)\n  WEIGHT_DECAY_BIAS: 0.0\n"
            + "MODEL:\n  MASK_ON: yes\n  KEYPOINT_ON: False\n  WEIGHTS: ~/weights/model.pth\n"
            + "INPUT:\n  MIN_SIZE_TRAIN: [640, 800]\n  MIN_SIZE_TEST: \"640\"\n  FORMAT: RGB\n"
            + "OUTPUT_DIR: ./my output\n");

        // 1e-4 is a str to YAML 1.1 (no dot); yacs' literal_eval then makes it the float.
        Assert.That(cfg["SOLVER.BASE_LR"], Is.EqualTo(0.0001));
        Assert.That(cfg["SOLVER.WEIGHT_DECAY"], Is.EqualTo(5e-05));
        Assert.That(cfg["SOLVER.STEPS"], Is.EqualTo(CfgSequence.Tuple(100L, 200L)));
        Assert.That(cfg["SOLVER.WEIGHT_DECAY_BIAS"], Is.EqualTo(0.0));
        Assert.That(cfg["MODEL.MASK_ON"], Is.True);
        Assert.That(cfg["MODEL.KEYPOINT_ON"], Is.False);
        Assert.That(cfg["MODEL.WEIGHTS"], Is.EqualTo("~/weights/model.pth"));
        Assert.That(cfg["INPUT.MIN_SIZE_TRAIN"], Is.EqualTo(CfgSequence.Tuple(640L, 800L)));
        Assert.That(cfg["INPUT.MIN_SIZE_TEST"], Is.EqualTo(640L));
        Assert.That(cfg["INPUT.FORMAT"], Is.EqualTo("RGB"));
        Assert.That(cfg["OUTPUT_DIR"], Is.EqualTo("./my output"));
    }

    [Test]
    public void Yaml_octal_and_null_follow_yaml_1_1()
    {
        var cfg = Merge("SOLVER:\n  MAX_ITER: 010\n  WEIGHT_DECAY_BIAS: null\nMODEL:\n  WEIGHTS:\n");

        Assert.That(cfg["SOLVER.MAX_ITER"], Is.EqualTo(8L));
        Assert.That(cfg["SOLVER.WEIGHT_DECAY_BIAS"], Is.Null);
        Assert.That(cfg["MODEL.WEIGHTS"], Is.Null);
    }

    [Test]
    public void A_value_for_a_group_is_an_error_naming_the_group()
    {
        var error = MergeFails("MODEL:\n  RPN: 3\n");

        Assert.That(error.Key, Is.EqualTo("MODEL.RPN"));
        Assert.That(error.Message, Does.Contain("group"));
    }

    [Test]
    public void A_group_for_a_value_is_an_error_naming_the_key()
    {
        var error = MergeFails("SOLVER:\n  BASE_LR:\n    VALUE: 0.1\n");

        Assert.That(error.Key, Is.EqualTo("SOLVER.BASE_LR"));
    }

    [Test]
    public void Base_key_below_the_top_is_an_error()
    {
        var error = MergeFails("MODEL:\n  _BASE_: x.yaml\n");

        Assert.That(error.Message, Does.Contain("_BASE_"));
    }

    [Test]
    public void Old_config_version_is_an_error()
    {
        var error = MergeFails("VERSION: 1\n");

        Assert.That(error.Key, Is.EqualTo("VERSION"));
        Assert.That(error.Message, Does.Contain("VERSION 1"));
    }

    [Test]
    public void Invalid_yaml_is_an_error_naming_the_file_and_line()
    {
        using var directory = new TempConfigDirectory();
        var path = directory.Write("broken.yaml", "SOLVER:\n  STEPS: [1, 2\n");

        var error = Assert.Throws<ConfigException>(() => DefaultConfig.Create().MergeFromFile(path))!;

        Assert.That(error.Message, Does.Contain(path + ":").And.Contain("invalid YAML"));
    }

    [Test]
    public void Empty_file_changes_nothing()
    {
        Assert.That(Merge(string.Empty).Differences(DefaultConfig.Create()), Is.Empty);
    }
}
