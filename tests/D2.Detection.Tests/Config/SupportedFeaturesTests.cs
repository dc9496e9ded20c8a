using D2.Detection.Config;

namespace D2.Detection.Tests.Config;

public class SupportedFeaturesTests
{
    private static ConfigException ValidationFails(params string[] opts)
    {
        var cfg = ModelZoo.GetConfig("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml");
        cfg.MergeFromList(opts);
        return Assert.Throws<ConfigException>(cfg.Validate)!;
    }

    [Test]
    public void Detectron2_dump_of_mask_rcnn_validates()
    {
        var cfg = ConfigFixtures.LoadDump(ConfigFixtures.MaskRCNN3xDump);

        Assert.DoesNotThrow(cfg.Validate);
    }

    [TestCase("MODEL.KEYPOINT_ON", "True", "keypoint detection")]
    [TestCase("MODEL.LOAD_PROPOSALS", "True", "precomputed proposals")]
    [TestCase("MODEL.RESNETS.DEFORM_ON_PER_STAGE", "[False, True, True, True]", "deformable convolutions")]
    [TestCase("MODEL.RETINANET.NUM_CLASSES", "1", "RetinaNet")]
    [TestCase("MODEL.SEM_SEG_HEAD.NUM_CLASSES", "3", "semantic segmentation")]
    [TestCase("MODEL.PANOPTIC_FPN.COMBINE.ENABLED", "False", "panoptic segmentation")]
    [TestCase("INPUT.CROP.ENABLED", "True", "random crop")]
    [TestCase("TEST.AUG.ENABLED", "True", "test-time augmentation")]
    [TestCase("SOLVER.AMP.ENABLED", "True", "TorchSharp 0.107 has no autocast")]
    public void A_feature_not_supported_must_keep_its_default(string key, string value, string feature)
    {
        var error = ValidationFails(key, value);

        Assert.That(error.Key, Is.EqualTo(key));
        Assert.That(error.Message, Does.Contain(key).And.Contain(value).And.Contain(feature).And.Contain("not supported"));
    }

    [TestCase("MODEL.META_ARCHITECTURE", "RetinaNet", "GeneralizedRCNN")]
    [TestCase("MODEL.ROI_HEADS.NAME", "CascadeROIHeads", "Cascade R-CNN")]
    [TestCase("MODEL.RESNETS.NORM", "SyncBN", "synchronized BatchNorm")]
    [TestCase("MODEL.PROPOSAL_GENERATOR.NAME", "RRPN", "RPN")]
    [TestCase("MODEL.RPN.BBOX_REG_LOSS_TYPE", "giou", "giou")]
    public void An_implementation_not_supported_is_an_error_naming_key_value_and_feature(string key, string value, string feature)
    {
        var error = ValidationFails(key, value);

        Assert.That(error.Key, Is.EqualTo(key));
        Assert.That(error.Message, Does.Contain(key).And.Contain($"'{value}'").And.Contain(feature).And.Contain("not supported"));
    }

    [Test]
    public void Every_problem_is_listed_at_once()
    {
        var error = ValidationFails("MODEL.KEYPOINT_ON", "True", "MODEL.DEVICE", "mps");

        Assert.That(error.Message, Does.Contain("2 problems").And.Contain("MODEL.KEYPOINT_ON").And.Contain("MODEL.DEVICE"));
    }

    [Test]
    public void Elements_of_keys_with_empty_defaults_are_checked()
    {
        var error = ValidationFails("DATASETS.TRAIN", "(1, 2)");

        Assert.That(error.Key, Is.EqualTo("DATASETS.TRAIN"));
        Assert.That(error.Message, Does.Contain("str"));
    }

    [Test]
    public void A_None_default_key_must_hold_its_declared_type()
    {
        var error = ValidationFails("SOLVER.WEIGHT_DECAY_BIAS", "'zero'");

        Assert.That(error.Key, Is.EqualTo("SOLVER.WEIGHT_DECAY_BIAS"));
        Assert.That(error.Message, Does.Contain("number"));
    }

    [Test]
    public void A_flat_list_of_anchor_sizes_is_accepted_as_detectron2_broadcasts_it()
    {
        var cfg = ModelZoo.GetConfig("COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml");
        cfg.MergeFromList(["MODEL.ANCHOR_GENERATOR.SIZES", "[32, 64]", "MODEL.DEVICE", "cuda:1"]);

        Assert.DoesNotThrow(cfg.Validate);
    }
}
