using System.Text.Json;

namespace D2.Trainer.Tests;

/// <summary>`d2 model-info` as a process: the JSON a user compares with Detectron2's state dict.</summary>
public class ModelInfoCommandTests
{

    // Parameter totals follow from torchvision's R50-FPN models (same layers) with Detectron2's class layout;
    // see GeneralizedRCNNTests for the derivation. One class: cls_score 1024*2+2, bbox_pred 1024*4+4, mask predictor 256+1.
    [TestCase("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml", "80", 44_343_216L, 307)]
    [TestCase("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml", "1", 44_343_216L - 83_025 - 328_000 - 20_560 + 2_050 + 4_100 + 257, 307)]
    [TestCase("COCO-Detection/faster_rcnn_R_50_FPN_3x", "80", 41_699_936L, 295)]
    public void Json_lists_parameters_trainable_and_state_dict_in_order(string config, string numClasses, long parameters, int tensors)
    {
        var (exit, stdout, stderr) = D2Process.Run("model-info", "--config-file", config, "--opts", "MODEL.ROI_HEADS.NUM_CLASSES", numClasses, "--json");
        Assert.That(exit, Is.Zero, stderr);
        using var json = JsonDocument.Parse(stdout);
        var root = json.RootElement;
        Assert.That(root.GetProperty("parameters").GetInt64(), Is.EqualTo(parameters));
        Assert.That(root.GetProperty("trainable").GetInt64(), Is.EqualTo(parameters - 222_400), "stem and res2 are frozen (FREEZE_AT 2)");
        var stateDict = root.GetProperty("state_dict").EnumerateArray().Select(e => (Name: e[0].GetString()!, Shape: e[1].EnumerateArray().Select(d => d.GetInt64()).ToArray())).ToList();
        Assert.That(stateDict, Has.Count.EqualTo(tensors));
        Assert.That(stateDict[0].Name, Is.EqualTo("backbone.fpn_lateral2.weight"));
        var k = long.Parse(numClasses, System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(stateDict.Single(s => s.Name == "roi_heads.box_predictor.cls_score.weight").Shape, Is.EqualTo(new[] { k + 1, 1024 }));
        Assert.That(stateDict.Single(s => s.Name == "roi_heads.box_predictor.bbox_pred.weight").Shape, Is.EqualTo(new[] { 4 * k, 1024 }));
    }

    [Test]
    public void Unknown_config_or_key_exits_2_and_names_it()
    {
        var (exit, _, stderr) = D2Process.Run("model-info", "--config-file", "COCO-Detection/nope.yaml");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("nope"));
        (exit, _, stderr) = D2Process.Run("model-info", "--config-file", "COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml", "--opts", "MODEL.ROI_HEADS.NUM_CLASS", "3");
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("MODEL.ROI_HEADS.NUM_CLASS"));
    }
}
