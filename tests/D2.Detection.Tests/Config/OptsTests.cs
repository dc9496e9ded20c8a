using D2.Detection.Config;

namespace D2.Detection.Tests.Config;

/// <summary>Command-line "KEY VALUE" overrides, typed as yacs types them.</summary>
public class OptsTests
{
    private static CfgNode Apply(params string[] opts)
    {
        var cfg = DefaultConfig.Create();
        cfg.MergeFromList(opts);
        return cfg;
    }

    private static ConfigException Fails(params string[] opts) =>
        Assert.Throws<ConfigException>(() => Apply(opts))!;

    [Test]
    public void Int_into_a_float_key_is_an_error_naming_key_types_and_fix()
    {
        var error = Fails("SOLVER.BASE_LR", "1");

        Assert.That(error.Key, Is.EqualTo("SOLVER.BASE_LR"));
        Assert.That(error.Message, Does.Contain("SOLVER.BASE_LR").And.Contain("type float").And.Contain("type int").And.Contain("Write 1.0"));
    }

    [Test]
    public void Float_into_an_int_key_is_an_error()
    {
        var error = Fails("SOLVER.MAX_ITER", "100.0");

        Assert.That(error.Key, Is.EqualTo("SOLVER.MAX_ITER"));
    }

    [Test]
    public void Numbers_parse_as_python_literals()
    {
        var cfg = Apply("SOLVER.MAX_ITER", "20000", "SOLVER.BASE_LR", "0.00025", "SOLVER.WEIGHT_DECAY", "1e-4", "SOLVER.CHECKPOINT_PERIOD", "1_000", "SEED", "-7");

        Assert.That(cfg["SOLVER.MAX_ITER"], Is.EqualTo(20000L));
        Assert.That(cfg["SOLVER.BASE_LR"], Is.EqualTo(0.00025));
        Assert.That(cfg["SOLVER.WEIGHT_DECAY"], Is.EqualTo(0.0001));
        Assert.That(cfg["SOLVER.CHECKPOINT_PERIOD"], Is.EqualTo(1000L));
        Assert.That(cfg["SEED"], Is.EqualTo(-7L));
    }

    [Test]
    public void Tuples_and_lists_coerce_to_the_key_kind()
    {
        var cfg = Apply("SOLVER.STEPS", "[100, 200]", "MODEL.PIXEL_MEAN", "(1.0, 2.0, 3.0)", "INPUT.MIN_SIZE_TRAIN", "(1000,)");

        Assert.That(cfg["SOLVER.STEPS"], Is.EqualTo(CfgSequence.Tuple(100L, 200L)));
        Assert.That(cfg["MODEL.PIXEL_MEAN"], Is.EqualTo(CfgSequence.List(1.0, 2.0, 3.0)));
        Assert.That(cfg["INPUT.MIN_SIZE_TRAIN"], Is.EqualTo(CfgSequence.Tuple(1000L)));
    }

    [Test]
    public void Tuples_of_strings_and_empty_sequences_parse()
    {
        var cfg = Apply("DATASETS.TRAIN", "('balloon_train',)", "DATASETS.TEST", "()", "SOLVER.STEPS", "[]");

        Assert.That(cfg["DATASETS.TRAIN"], Is.EqualTo(CfgSequence.Tuple("balloon_train")));
        Assert.That(cfg["DATASETS.TEST"], Is.EqualTo(CfgSequence.Tuple()));
        Assert.That(cfg["SOLVER.STEPS"], Is.EqualTo(CfgSequence.Tuple()));
    }

    [Test]
    public void A_bare_name_for_a_tuple_key_is_an_error_showing_the_tuple_to_write()
    {
        var error = Fails("DATASETS.TRAIN", "balloon_train");

        Assert.That(error.Message, Does.Contain("DATASETS.TRAIN").And.Contain("('balloon_train',)"));
    }

    [Test]
    public void Booleans_are_python_True_and_False()
    {
        var cfg = Apply("MODEL.MASK_ON", "True", "DATALOADER.ASPECT_RATIO_GROUPING", "False");

        Assert.That(cfg["MODEL.MASK_ON"], Is.True);
        Assert.That(cfg["DATALOADER.ASPECT_RATIO_GROUPING"], Is.False);
    }

    [TestCase("true")]
    [TestCase("1")]
    public void Other_spellings_of_a_bool_are_errors(string value)
    {
        var error = Fails("MODEL.MASK_ON", value);

        Assert.That(error.Key, Is.EqualTo("MODEL.MASK_ON"));
        Assert.That(error.Message, Does.Contain("True or False"));
    }

    [Test]
    public void Paths_urls_and_text_with_spaces_stay_strings()
    {
        var cfg = Apply(
            "OUTPUT_DIR", "/opt/ml/my output/run 1",
            "MODEL.WEIGHTS", "detectron2://COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x/137849600/model_final_f10217.pkl",
            "MODEL.DEVICE", "cpu",
            "INPUT.FORMAT", "'RGB'");

        Assert.That(cfg["OUTPUT_DIR"], Is.EqualTo("/opt/ml/my output/run 1"));
        Assert.That(cfg["MODEL.WEIGHTS"], Is.EqualTo("detectron2://COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x/137849600/model_final_f10217.pkl"));
        Assert.That(cfg["MODEL.DEVICE"], Is.EqualTo("cpu"));
        Assert.That(cfg["INPUT.FORMAT"], Is.EqualTo("RGB"));
    }

    [Test]
    public void A_string_that_reads_as_a_number_needs_inner_quotes()
    {
        Assert.That(Apply("OUTPUT_DIR", "'123'")["OUTPUT_DIR"], Is.EqualTo("123"));

        var error = Fails("OUTPUT_DIR", "123");
        Assert.That(error.Message, Does.Contain("OUTPUT_DIR").And.Contain("'123'"));
    }

    [Test]
    public void None_is_accepted_for_any_key_and_anything_for_a_None_key()
    {
        var cfg = Apply("MODEL.WEIGHTS", "None", "SOLVER.WEIGHT_DECAY_BIAS", "0.0005");

        Assert.That(cfg["MODEL.WEIGHTS"], Is.Null);
        Assert.That(cfg["SOLVER.WEIGHT_DECAY_BIAS"], Is.EqualTo(0.0005));
        Assert.That(cfg.Get<double?>("SOLVER.WEIGHT_DECAY_BIAS"), Is.EqualTo(0.0005));
    }

    [Test]
    public void Unknown_key_is_an_error_naming_the_key_and_likely_fixes()
    {
        var error = Fails("MODEL.NUM_CLASSES", "1");

        Assert.That(error.Key, Is.EqualTo("MODEL.NUM_CLASSES"));
        Assert.That(error.Message, Does.Contain("Non-existent config key: MODEL.NUM_CLASSES").And.Contain("MODEL.ROI_HEADS.NUM_CLASSES"));
    }

    [Test]
    public void Key_below_a_value_is_an_error_naming_the_key()
    {
        var error = Fails("SOLVER.BASE_LR.X", "1.0");

        Assert.That(error.Key, Is.EqualTo("SOLVER.BASE_LR.X"));
    }

    [Test]
    public void Odd_length_opts_are_an_error_naming_the_unpaired_key()
    {
        var error = Fails("SOLVER.MAX_ITER", "10", "SOLVER.BASE_LR");

        Assert.That(error.Message, Does.Contain("odd length").And.Contain("'SOLVER.BASE_LR' has no value"));
    }

    [Test]
    public void A_group_cannot_be_set_from_opts()
    {
        var error = Fails("MODEL.RPN", "{'NMS_THRESH': 0.5}");

        Assert.That(error.Key, Is.EqualTo("MODEL.RPN"));
        Assert.That(error.Message, Does.Contain("group"));
    }

    [Test]
    public void A_python_dict_for_a_value_is_an_error_naming_the_type()
    {
        var error = Fails("MODEL.WEIGHTS", "{'a': 1}");

        Assert.That(error.Message, Does.Contain("MODEL.WEIGHTS").And.Contain("dict"));
    }

    [Test]
    public void Base_key_is_reserved_for_files()
    {
        var error = Fails("_BASE_", "x.yaml");

        Assert.That(error.Message, Does.Contain("_BASE_"));
    }

    [Test]
    public void A_frozen_config_rejects_opts()
    {
        var cfg = DefaultConfig.Create();
        cfg.Freeze();

        var error = Assert.Throws<ConfigException>(() => cfg.MergeFromList(["SOLVER.MAX_ITER", "10"]))!;

        Assert.That(error.Message, Does.Contain("SOLVER.MAX_ITER").And.Contain("frozen"));
    }

    [Test]
    public void Balloon_tutorial_command_line_applies_to_the_zoo_config()
    {
        // The opts of Detectron2's balloon tutorial, as a train_net.py command line passes them.
        var cfg = ConfigLoader.Load("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml",
        [
            "DATASETS.TRAIN", "('balloon_train',)", "DATASETS.TEST", "()", "SOLVER.IMS_PER_BATCH", "2",
            "SOLVER.BASE_LR", "0.00025", "SOLVER.MAX_ITER", "300", "SOLVER.STEPS", "[]",
            "MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE", "128", "MODEL.ROI_HEADS.NUM_CLASSES", "1",
            "MODEL.WEIGHTS", "detectron2://COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x/137849600/model_final_f10217.pkl",
        ]);

        Assert.That(cfg.Get<string[]>("DATASETS.TRAIN"), Is.EqualTo(new[] { "balloon_train" }));
        Assert.That(cfg.Get<string[]>("DATASETS.TEST"), Is.Empty);
        Assert.That(cfg.Get<int>("SOLVER.IMS_PER_BATCH"), Is.EqualTo(2));
        Assert.That(cfg.Get<double>("SOLVER.BASE_LR"), Is.EqualTo(0.00025));
        Assert.That(cfg.Get<int[]>("SOLVER.STEPS"), Is.Empty);
        Assert.That(cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES"), Is.EqualTo(1));
        Assert.That(cfg.IsFrozen, Is.True);
    }
}
