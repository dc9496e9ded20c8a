using D2.Detection.Checkpoint;

namespace D2.Detection.Tests.Checkpoint;

public class Caffe2NamesTests
{
    // Expected names worked out by hand from the conversion rules (spec section 21.4 / Detectron2's c2_model_loading).
    [TestCase("conv1_w", "stem.conv1.weight")]
    [TestCase("res_conv1_bn_s", "stem.conv1.norm.weight")]
    [TestCase("res_conv1_bn_b", "stem.conv1.norm.bias")]
    [TestCase("res2_0_branch1_w", "res2.0.shortcut.weight")]
    [TestCase("res2_0_branch1_bn_s", "res2.0.shortcut.norm.weight")]
    [TestCase("res2_0_branch2a_w", "res2.0.conv1.weight")]
    [TestCase("res2_0_branch2a_bn_s", "res2.0.conv1.norm.weight")]
    [TestCase("res3_1_branch2b_bn_rm", "res3.1.conv2.norm.running_mean")]
    [TestCase("res3_1_branch2b_bn_riv", "res3.1.conv2.norm.running_var")]
    [TestCase("res4_5_branch2c_bn_b", "res4.5.conv3.norm.bias")]
    [TestCase("res5_2_branch2c_gn_s", "res5.2.conv3.norm.weight")]
    [TestCase("fc1000_w", "fc1000.weight")]
    [TestCase("pred_b", "linear.bias")]
    public void Basic_caffe2_names_become_detectron2_backbone_names(string caffe2, string detectron2) =>
        Assert.That(Caffe2Names.ConvertBasicName(caffe2), Is.EqualTo(detectron2));

    [TestCase("conv_rpn_fpn2_w", "proposal_generator.rpn_head.conv.weight")]
    [TestCase("conv_rpn_b", "proposal_generator.rpn_head.conv.bias")]
    [TestCase("rpn_bbox_pred_fpn2_b", "proposal_generator.rpn_head.anchor_deltas.bias")]
    [TestCase("rpn_cls_logits_fpn2_w", "proposal_generator.rpn_head.objectness_logits.weight")]
    [TestCase("rpn_cls_logits_w", "proposal_generator.rpn_head.objectness_logits.weight")]
    [TestCase("fc6_w", "box_head.fc1.weight")]
    [TestCase("fc7_b", "box_head.fc2.bias")]
    [TestCase("cls_score_w", "cls_score.weight")]
    [TestCase("bbox_pred_b", "bbox_pred.bias")]
    [TestCase("fpn_inner_res5_2_sum_w", "fpn_lateral5.weight")]
    [TestCase("fpn_inner_res2_2_sum_lateral_b", "fpn_lateral2.bias")]
    [TestCase("fpn_res3_3_sum_w", "fpn_output3.weight")]
    [TestCase("_[mask]_fcn1_w", "mask_head.mask_fcn1.weight")]
    [TestCase("conv5_mask_w", "mask_head.deconv.weight")]
    [TestCase("mask_fcn_logits_b", "mask_head.predictor.bias")]
    [TestCase("res2_0_branch2a_bn_s", "res2.0.conv1.norm.weight")]
    public void Detectron1_head_names_become_detectron2_names(string caffe2, string detectron2) =>
        Assert.That(Caffe2Names.ConvertDetectronName(caffe2), Is.EqualTo(detectron2));

    [Test]
    public void Suffix_matching_takes_the_longest_complete_suffix()
    {
        var matches = StateDictAligner.Match(
            ["backbone.bottom_up.stem.conv1.weight", "backbone.bottom_up.res2.0.conv1.weight", "roi_heads.mesh_head.whatever_conv1.weight", "head.fc.weight"],
            ["stem.conv1.weight", "res2.0.conv1.weight", "conv1.weight", "fc1000.weight"]);

        Assert.That(matches["backbone.bottom_up.stem.conv1.weight"], Is.EqualTo("stem.conv1.weight"));
        Assert.That(matches["backbone.bottom_up.res2.0.conv1.weight"], Is.EqualTo("res2.0.conv1.weight"));
        Assert.That(matches["roi_heads.mesh_head.whatever_conv1.weight"], Is.Null, "conv1.weight is not a complete suffix of whatever_conv1.weight");
        Assert.That(matches["head.fc.weight"], Is.Null);
    }

    [Test]
    public void Key_groups_print_like_fvcore()
    {
        string[] keys = ["backbone.res2.0.conv1.norm.weight", "backbone.res2.0.conv1.norm.bias", "roi_heads.box_predictor.cls_score.weight", "pixel_mean"];

        Assert.That(CheckpointKeyGroups.Group(keys), Is.EqualTo(new[]
        {
            "backbone.res2.0.conv1.norm.{bias, weight}", "roi_heads.box_predictor.cls_score.weight", "pixel_mean",
        }));
        Assert.That(CheckpointKeyGroups.MissingMessage(keys), Is.EqualTo(
            "Some model parameters or buffers are not found in the checkpoint:\n" +
            "backbone.res2.0.conv1.norm.{bias, weight}\npixel_mean\nroi_heads.box_predictor.cls_score.weight"));
        Assert.That(CheckpointKeyGroups.UnexpectedMessage(keys), Is.EqualTo(
            "The checkpoint state_dict contains keys that are not used by the model:\n" +
            "  backbone.res2.0.conv1.norm.{bias, weight}\n  roi_heads.box_predictor.cls_score.weight\n  pixel_mean"));
    }
}
