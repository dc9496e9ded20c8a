using D2.Detection.Config;
using D2.Detection.Engine;
using D2.Detection.Modeling;
using D2.Detection.Modeling.ProposalGenerator;
using D2.Detection.Modeling.ROIHeads;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

/// <summary>The registries: a part registered from another assembly, selected by name in a config, and unknown names.</summary>
public class ExtensionPointTests
{
    [Test]
    public void ROI_heads_registered_outside_the_library_are_built_trained_and_run_by_name()
    {
        TestOnlyROIHeads.EnsureRegistered();
        manual_seed(3);
        // GetConfig validates: a registered name passes config validation, which refuses unknown ROI heads.
        var cfg = GeneralizedRCNNTests.TinyConfig("MODEL.ROI_HEADS.NAME", TestOnlyROIHeads.Name);
        using var model = ModelBuilder.Build(cfg);

        Assert.That(model.ROIHeads, Is.TypeOf<TestOnlyROIHeads>());
        Assert.That(model.ProposalGenerator, Is.TypeOf<RPN>());
        var keys = model.state_dict().Keys.ToList();
        Assert.That(keys, Does.Contain("roi_heads.cls_score.weight").And.Contain("proposal_generator.rpn_head.conv.weight"));
        Assert.That(keys.Where(k => k.StartsWith("roi_heads.", StringComparison.Ordinal)), Is.EquivalentTo(new[] { "roi_heads.cls_score.weight", "roi_heads.cls_score.bias" }));

        model.train();
        var batch = new[] { GeneralizedRCNNTests.SyntheticImage() };
        using (var scope = NewDisposeScope())
        {
            var losses = model.ForwardTraining(batch);
            Assert.That(losses.Keys, Is.EquivalentTo(new[] { "loss_rpn_cls", "loss_rpn_loc", "loss_test_cls" }));
            // Cross-entropy over K + 1 = 3 classes starts near ln 3 with small random weights.
            Assert.That(losses["loss_test_cls"].item<float>(), Is.GreaterThan(0.1).And.LessThan(5.0));
            var classifier = model.named_parameters().Single(p => p.name == "roi_heads.cls_score.weight").parameter;
            losses.Values.Aggregate((a, b) => a + b).backward();
            Assert.That(classifier.grad, Is.Not.Null);
            Assert.That(classifier.grad!.abs().sum().item<float>(), Is.GreaterThan(0f), "the custom head's loss trains its weights");
        }
        var statistics = TrainingStatistics.Collect(model).Select(s => s.Key).ToList();
        Assert.That(statistics, Is.EqualTo(new[] { "rpn/num_pos_anchors", "rpn/num_neg_anchors", "roi_head/num_fg_samples", "roi_head/num_bg_samples" }),
            "the base ROIHeads' sampling reports its counts; the custom head adds none");

        model.eval();
        var input = batch[0] with { Height = 48, Width = 64 };
        var stages = new List<InferenceStage>();
        var results = model.Inference([input], stageCompleted: stages.Add);
        Assert.That(results, Has.Count.EqualTo(1));
        var result = results[0];
        Assert.That(result.ImageSize, Is.EqualTo((48, 64)));
        Assert.That(result.Length, Is.InRange(1, 5));
        var classes = result.Get<Tensor>("pred_classes");
        Assert.That(classes.min().item<long>(), Is.GreaterThanOrEqualTo(0));
        Assert.That(classes.max().item<long>(), Is.LessThan(2));
        var boxes = result.Get<Boxes>("pred_boxes").Tensor;
        Assert.That(boxes[.., 2].max().item<float>(), Is.LessThanOrEqualTo(64f), "post-processing scaled and clipped to the requested size");
        Assert.That(stages, Is.EqualTo(new[] { InferenceStage.Preprocess, InferenceStage.Backbone, InferenceStage.ProposalGenerator, InferenceStage.BoxHead, InferenceStage.Postprocess }));
    }

    [TestCase("MODEL.META_ARCHITECTURE", "GeneralizedRCNN")]
    [TestCase("MODEL.BACKBONE.NAME", "build_resnet_backbone, build_resnet_fpn_backbone")]
    [TestCase("MODEL.PROPOSAL_GENERATOR.NAME", "RPN")]
    [TestCase("MODEL.RPN.HEAD_NAME", "StandardRPNHead")]
    [TestCase("MODEL.ROI_HEADS.NAME", "StandardROIHeads")]
    [TestCase("MODEL.ROI_BOX_HEAD.NAME", "FastRCNNConvFCHead")]
    [TestCase("MODEL.ROI_MASK_HEAD.NAME", "MaskRCNNConvUpsampleHead")]
    public void An_unknown_name_names_the_key_the_value_and_the_registered_names(string key, string registered)
    {
        // MergeFromList does not validate, so the name reaches the builder as it would from code that skips validation.
        var cfg = GeneralizedRCNNTests.TinyConfig();
        cfg.MergeFromList([key, "NoSuchPart"]);

        var error = Assert.Throws<ConfigException>(() => ModelBuilder.Build(cfg).Dispose())!;

        Assert.That(error.Key, Is.EqualTo(key));
        Assert.That(error.Message, Does.StartWith($"{key} 'NoSuchPart' is not registered; registered: {registered}"));
    }

    [Test]
    public void Validation_refuses_a_name_nothing_registered()
    {
        var error = Assert.Throws<ConfigException>(() => GeneralizedRCNNTests.TinyConfig("MODEL.ROI_HEADS.NAME", "NotRegisteredROIHeads"))!;

        Assert.That(error.Message, Does.Contain("MODEL.ROI_HEADS.NAME").And.Contain("NotRegisteredROIHeads").And.Contain("StandardROIHeads"));
    }

    [Test]
    public void A_name_is_registered_once()
    {
        var error = Assert.Throws<ArgumentException>(() => ModelBuilder.ROIHeadsRegistry.Register("StandardROIHeads", StandardROIHeads.FromConfig))!;

        Assert.That(error.Message, Does.Contain("MODEL.ROI_HEADS.NAME 'StandardROIHeads' is already registered"));
        Assert.That(ModelBuilder.ROIHeadsRegistry.Get("StandardROIHeads"), Is.Not.Null);
    }
}
