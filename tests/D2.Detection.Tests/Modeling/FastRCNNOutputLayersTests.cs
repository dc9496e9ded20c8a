using D2.Detection.Modeling;
using D2.Detection.Modeling.ROIHeads;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

public class FastRCNNOutputLayersTests
{
    static readonly float[] ClsBias = [1f, 0f, -1f];
    static readonly float[] DeltaBias = [0.2f, -0.1f, 0.3f, 0.0f, 0.5f, 1.0f, -0.2f, 0.4f];

    /// <summary>Two classes; outputs equal the biases whatever the features.</summary>
    static FastRCNNOutputLayers ConstantPredictor()
    {
        var predictor = new FastRCNNOutputLayers(inputSize: 3, numClasses: 2, new Box2BoxTransform((10, 10, 5, 5)));
        using (no_grad())
            foreach (var (name, p) in predictor.named_parameters())
            {
                p.zero_();
                if (name == "cls_score.bias") p.copy_(tensor(ClsBias));
                if (name == "bbox_pred.bias") p.copy_(tensor(DeltaBias));
            }
        return predictor;
    }

    [Test]
    public void Box_losses_match_hand_computed_values()
    {
        using var predictor = ConstantPredictor();
        using var scope = NewDisposeScope();
        // ROI 0: foreground class 1, proposal (0,0,10,10) -> gt (1,1,11,12); ROI 1: background (class K = 2).
        var proposals = new Instances((20, 20));
        proposals.Set("proposal_boxes", new Boxes(tensor(new float[] { 0, 0, 10, 10, 2, 2, 8, 8 }, [2, 4])));
        proposals.Set("gt_boxes", new Boxes(tensor(new float[] { 1, 1, 11, 12, 0, 0, 1, 1 }, [2, 4])));
        proposals.Set("gt_classes", tensor(new long[] { 1, 2 }));
        var predictions = predictor.forward(randn(2, 3));
        var losses = predictor.Losses(predictions, [proposals]);

        // Cross-entropy of softmax([1, 0, -1]) at labels 1 and 2, averaged over both ROIs.
        var logSumExp = Math.Log(Math.Exp(1) + Math.Exp(0) + Math.Exp(-1));
        var expectedCls = ((logSumExp - 0) + (logSumExp + 1)) / 2;
        // Class 1's deltas are bias[4..8]; target (10 * 1/10, 10 * 1.5/10, 5 ln(10/10), 5 ln(11/10)); divided by 2 sampled ROIs.
        double[] target = [1.0, 1.5, 0.0, 5 * Math.Log(1.1)];
        var expectedBox = target.Select((t, i) => Math.Abs(DeltaBias[4 + i] - t)).Sum() / 2;

        Assert.That(losses["loss_cls"].item<float>(), Is.EqualTo(expectedCls).Within(1e-5));
        Assert.That(losses["loss_box_reg"].item<float>(), Is.EqualTo(expectedBox).Within(1e-5));
        Assert.That(predictor.LastStatistics["fast_rcnn/cls_accuracy"], Is.EqualTo(0.0), "argmax is class 0 for both");
        Assert.That(predictor.LastStatistics["fast_rcnn/false_negative"], Is.EqualTo(0.0));
    }

    [Test]
    public void Empty_batch_gives_zero_losses_connected_to_the_graph()
    {
        using var predictor = ConstantPredictor();
        var proposals = new Instances((20, 20));
        proposals.Set("proposal_boxes", new Boxes(zeros(0, 4)));
        proposals.Set("gt_classes", zeros(0, int64));
        var losses = predictor.Losses(predictor.forward(zeros(0, 3)), [proposals]);
        Assert.That(losses["loss_cls"].item<float>(), Is.EqualTo(0f));
        Assert.That(losses["loss_box_reg"].item<float>(), Is.EqualTo(0f));
        (losses["loss_cls"] + losses["loss_box_reg"]).backward();
    }

    [Test]
    public void Inference_decodes_the_class_column_and_drops_background()
    {
        using var predictor = ConstantPredictor();
        using var scope = NewDisposeScope();
        var proposals = new Instances((20, 20));
        proposals.Set("proposal_boxes", new Boxes(tensor(new float[] { 0, 0, 10, 10 }, [1, 4])));
        var result = predictor.Inference(predictor.forward(randn(1, 3)), [proposals])[0];
        // p = softmax([1, 0, -1]) = 0.665, 0.245 (background 0.090 is never a detection): two detections, class 0 first.
        Assert.That(result.Get<Tensor>("pred_classes").data<long>().ToArray(), Is.EqualTo(new long[] { 0, 1 }));
        var p0 = Math.Exp(1) / (Math.Exp(1) + 1 + Math.Exp(-1));
        Assert.That(result.Get<Tensor>("scores")[0].item<float>(), Is.EqualTo(p0).Within(1e-6));
        // Class 0 deltas (0.2, -0.1, 0.3, 0) / (10, 10, 5, 5) on (0,0,10,10): centre (5.2, 4.9), size (10 e^0.06, 10).
        var w = 10 * Math.Exp(0.06);
        var expected = new[] { 5.2 - w / 2, 4.9 - 5, 5.2 + w / 2, 4.9 + 5 }.Select(v => Math.Clamp(v, 0, 20)).ToArray();
        Assert.That(result.Get<Boxes>("pred_boxes").Tensor[0].data<float>().ToArray().Select(v => (double)v), Is.EqualTo(expected).Within(1e-4));
    }
}
