using D2.Detection.Config;

namespace D2.Detection.Tests.Config;

public class CfgNodeTests
{
    [Test]
    public void Typed_getters_read_scalars_lists_and_nested_lists()
    {
        var cfg = ModelZoo.GetConfig("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml");

        Assert.That(cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES"), Is.EqualTo(80));
        Assert.That(cfg.Get<long>("SOLVER.MAX_ITER"), Is.EqualTo(270000L));
        Assert.That(cfg.Get<double>("SOLVER.BASE_LR"), Is.EqualTo(0.02));
        Assert.That(cfg.Get<float>("MODEL.RPN.NMS_THRESH"), Is.EqualTo(0.7f));
        Assert.That(cfg.Get<bool>("MODEL.MASK_ON"), Is.True);
        Assert.That(cfg.Get<string>("MODEL.ROI_HEADS.NAME"), Is.EqualTo("StandardROIHeads"));
        Assert.That(cfg.Get<double?>("SOLVER.WEIGHT_DECAY_BIAS"), Is.Null);
        Assert.That(cfg.Get<IReadOnlyList<int>>("SOLVER.STEPS"), Is.EqualTo(new[] { 210000, 250000 }));
        Assert.That(cfg.Get<double[]>("MODEL.RPN.BBOX_REG_WEIGHTS"), Is.EqualTo(new[] { 1.0, 1.0, 1.0, 1.0 }));
        Assert.That(cfg.Get<string[]>("MODEL.RPN.IN_FEATURES"), Is.EqualTo(new[] { "p2", "p3", "p4", "p5", "p6" }));
        Assert.That(cfg.Get<IReadOnlyList<IReadOnlyList<double>>>("MODEL.ANCHOR_GENERATOR.SIZES"), Has.Count.EqualTo(5));
        Assert.That(cfg.Get<int[][]>("MODEL.ANCHOR_GENERATOR.SIZES")[4], Is.EqualTo(new[] { 512 }));
        Assert.That(cfg.Get<CfgNode>("MODEL.RPN").Get<int>("BATCH_SIZE_PER_IMAGE"), Is.EqualTo(256));
        Assert.That(cfg.GetNode("SOLVER.CLIP_GRADIENTS").Path, Is.EqualTo("SOLVER.CLIP_GRADIENTS"));
    }

    [Test]
    public void A_getter_of_the_wrong_type_is_an_error_naming_the_key()
    {
        var cfg = DefaultConfig.Create();

        var error = Assert.Throws<ConfigException>(() => cfg.Get<int>("MODEL.DEVICE"))!;
        Assert.That(error.Key, Is.EqualTo("MODEL.DEVICE"));
        Assert.That(error.Message, Does.Contain("'cuda'").And.Contain("Int32"));

        Assert.Throws<ConfigException>(() => cfg.Get<int>("SOLVER.BASE_LR"));
        Assert.Throws<ConfigException>(() => cfg.Get<double>("SOLVER.WEIGHT_DECAY_BIAS"));
        Assert.Throws<ConfigException>(() => cfg.Get<int[]>("MODEL.RESNETS.OUT_FEATURES"));
        Assert.That(Assert.Throws<ConfigException>(() => cfg.Get<int>("MODEL.NOPE"))!.Key, Is.EqualTo("MODEL.NOPE"));
    }

    [Test]
    public void Set_applies_the_type_rule_and_converts_dotnet_values()
    {
        var cfg = DefaultConfig.Create();
        cfg.Set("SOLVER.MAX_ITER", 10);
        cfg.Set("SOLVER.STEPS", new[] { 5, 8 });
        cfg.Set("MODEL.PIXEL_MEAN", new[] { 1.0, 2.0, 3.0 });

        Assert.That(cfg["SOLVER.MAX_ITER"], Is.EqualTo(10L));
        Assert.That(cfg["SOLVER.STEPS"], Is.EqualTo(CfgSequence.Tuple(5L, 8L)));
        Assert.That(cfg["MODEL.PIXEL_MEAN"], Is.EqualTo(CfgSequence.List(1.0, 2.0, 3.0)));
        Assert.That(Assert.Throws<ConfigException>(() => cfg.Set("SOLVER.BASE_LR", 1))!.Key, Is.EqualTo("SOLVER.BASE_LR"));
        Assert.Throws<ConfigException>(() => cfg.Set("MODEL.RPN", 1.0));
    }

    [Test]
    public void Clone_is_deep_and_freeze_makes_every_group_read_only()
    {
        var cfg = DefaultConfig.Create();
        var clone = cfg.Clone();
        clone.Set("MODEL.RPN.NMS_THRESH", 0.5);
        cfg.Freeze();

        Assert.That(cfg["MODEL.RPN.NMS_THRESH"], Is.EqualTo(0.7));
        Assert.That(cfg.GetNode("MODEL.RPN").IsFrozen, Is.True);
        Assert.That(Assert.Throws<ConfigException>(() => cfg.Set("MODEL.RPN.NMS_THRESH", 0.6))!.Message, Does.Contain("frozen"));
        Assert.That(cfg.Clone().IsFrozen, Is.True);

        cfg.Defrost();
        cfg.Set("MODEL.RPN.NMS_THRESH", 0.6);
        Assert.That(cfg["MODEL.RPN.NMS_THRESH"], Is.EqualTo(0.6));
    }

    [Test]
    public void AddKey_extends_the_config_for_new_components()
    {
        var cfg = DefaultConfig.Create();
        cfg.AddKey("MODEL.MY_HEAD.NUM_LAYERS", 3);
        cfg.MergeFromList(["MODEL.MY_HEAD.NUM_LAYERS", "5"]);

        Assert.That(cfg.Get<int>("MODEL.MY_HEAD.NUM_LAYERS"), Is.EqualTo(5));
        Assert.Throws<ConfigException>(() => cfg.AddKey("MODEL.MASK_ON", false));
        Assert.DoesNotThrow(cfg.Validate);
    }

    [Test]
    public void Differences_name_the_keys_that_differ()
    {
        var a = DefaultConfig.Create();
        var b = DefaultConfig.Create();
        b.Set("SOLVER.BASE_LR", 0.02);

        Assert.That(a.Differences(b), Is.EqualTo(new[] { "SOLVER.BASE_LR: 0.001 != 0.02" }));
        Assert.That(a.ContentEquals(DefaultConfig.Create()), Is.True);
    }
}
