using D2.Detection.Config;

namespace D2.Detection.Tests.Config;

/// <summary>Configs loaded for prediction: Detectron2's full dumps load, training-only features are accepted, features that
/// change predictions are still refused.</summary>
public class InferenceConfigTests
{
    [TestCase(ConfigFixtures.DefaultDump)]
    [TestCase(ConfigFixtures.MaskRCNN3xDump)]
    public void Detectron2_dumps_with_anchors_and_aliases_load_for_prediction(string dump)
    {
        var cfg = ConfigLoader.Load(ConfigFixtures.PathOf(dump), purpose: ConfigPurpose.Inference);
        Assert.That(cfg.Get<double[]>("MODEL.ROI_BOX_HEAD.BBOX_REG_WEIGHTS"), Is.EqualTo(new[] { 10.0, 10.0, 5.0, 5.0 }));
        Assert.That(cfg.Get<double[]>("MODEL.RPN.BBOX_REG_WEIGHTS"), Is.EqualTo(new[] { 1.0, 1.0, 1.0, 1.0 }));
    }

    [TestCase("SOLVER.AMP.ENABLED", "True")]
    [TestCase("INPUT.CROP.ENABLED", "True")]
    [TestCase("TEST.AUG.ENABLED", "True")]
    [TestCase("TEST.PRECISE_BN.ENABLED", "True")]
    [TestCase("VIS_PERIOD", "20")]
    [TestCase("MODEL.RESNETS.NORM", "SyncBN")]
    [TestCase("MODEL.FPN.NORM", "naiveSyncBN")]
    [TestCase("SOLVER.LR_SCHEDULER_NAME", "WarmupPolyLR")]
    [TestCase("MODEL.ROI_BOX_HEAD.BBOX_REG_LOSS_TYPE", "giou")]
    [TestCase("DATALOADER.SAMPLER_TRAIN", "RandomSubsetTrainingSampler")]
    [TestCase("MODEL.RETINANET.NUM_CLASSES", "3")]
    public void Training_only_settings_load_for_prediction_but_not_for_training(string key, string value)
    {
        var cfg = ConfigFixtures.LoadDump(ConfigFixtures.MaskRCNN3xDump);
        cfg.MergeFromList([key, value]);
        Assert.DoesNotThrow(() => cfg.Validate(ConfigPurpose.Inference));
        Assert.That(() => cfg.Validate(ConfigPurpose.Training), Throws.TypeOf<ConfigException>().With.Message.Contains(key));
    }

    [TestCase("MODEL.KEYPOINT_ON", "True")]
    [TestCase("MODEL.ROI_BOX_HEAD.USE_SIGMOID_CE", "True")]
    [TestCase("MODEL.META_ARCHITECTURE", "RetinaNet")]
    [TestCase("MODEL.ROI_HEADS.NAME", "CascadeROIHeads")]
    [TestCase("MODEL.RESNETS.DEFORM_ON_PER_STAGE", "[False, True, True, True]")]
    [TestCase("MODEL.LOAD_PROPOSALS", "True")]
    public void Features_that_change_predictions_are_refused_for_prediction(string key, string value)
    {
        var cfg = ConfigFixtures.LoadDump(ConfigFixtures.MaskRCNN3xDump);
        cfg.MergeFromList([key, value]);
        var error = Assert.Throws<ConfigException>(() => cfg.Validate(ConfigPurpose.Inference))!;
        Assert.That(error.Key, Is.EqualTo(key));
        Assert.That(error.Message, Does.Contain("not supported"));
    }
}
