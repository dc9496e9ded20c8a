using D2.Detection.Modeling;
using D2.Detection.Modeling.ProposalGenerator;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

public class RPNTests
{
    const double ObjectnessBias = 0.5;
    static readonly float[] DeltaBias = [0.1f, -0.2f, 0.3f, 0.05f];

    /// <summary>One level, stride 16, one 32x32 anchor per cell on a 2x2 map; a head whose outputs are its biases.</summary>
    static RPN ConstantRPN()
    {
        var head = new StandardRPNHead(inChannels: 4, numAnchors: 1);
        using (no_grad())
            foreach (var (name, p) in head.named_parameters())
            {
                p.zero_();
                if (name == "objectness_logits.bias") p.fill_(ObjectnessBias);
                if (name == "anchor_deltas.bias") p.copy_(tensor(DeltaBias));
            }
        return new RPN(["p4"], head, new DefaultAnchorGenerator([[32.0]], [[1.0]], [16]),
            new Matcher([0.3, 0.7], [0, -1, 1], allowLowQualityMatches: true), new Box2BoxTransform((1, 1, 1, 1)),
            batchSizePerImage: 256, positiveFraction: 0.5, preNMSTopK: (2000, 1000), postNMSTopK: (1000, 1000));
    }

    [Test]
    public void RPN_losses_match_hand_computed_values_on_a_four_anchor_case()
    {
        // Anchors (-16,-16,16,16), (0,-16,32,16), (-16,0,16,32), (0,0,32,32); gt (2,4,34,30):
        // IoUs 0.099, 0.241, 0.244, 0.725 -> labels 0, 0, 0, 1, all four sampled (budget 256).
        using var rpn = ConstantRPN();
        rpn.train();
        using var scope = NewDisposeScope();
        var gt = new Instances((32, 32));
        gt.Set("gt_boxes", new Boxes(tensor(new float[] { 2, 4, 34, 30 }, [1, 4])));
        var features = new Dictionary<string, Tensor> { ["p4"] = randn(1, 4, 2, 2) };
        var (_, losses) = rpn.Forward([(32, 32)], features, [gt]);

        double Softplus(double x) => Math.Log(1 + Math.Exp(x));
        // BCE with logits: label 1 -> softplus(-z), label 0 -> softplus(z); normalised by 256 * 1 image.
        var expectedCls = (3 * Softplus(ObjectnessBias) + Softplus(-ObjectnessBias)) / 256;
        // Anchor 3 (cx 16, cy 16, w 32, h 32) -> gt (cx 18, cy 17, w 32, h 26): (0.0625, 0.03125, 0, ln(26/32)).
        double[] target = [2.0 / 32, 1.0 / 32, 0.0, Math.Log(26.0 / 32)];
        var expectedLoc = target.Select((t, i) => Math.Abs(DeltaBias[i] - t)).Sum() / 256;

        Assert.That(losses["loss_rpn_cls"].item<float>(), Is.EqualTo(expectedCls).Within(1e-6));
        Assert.That(losses["loss_rpn_loc"].item<float>(), Is.EqualTo(expectedLoc).Within(1e-6));
        Assert.That(rpn.LastAnchorCounts, Is.EqualTo((1.0, 3.0)));
    }

    [Test]
    public void RPN_losses_reach_every_head_parameter()
    {
        using var rpn = ConstantRPN();
        rpn.train();
        var gt = new Instances((32, 32));
        gt.Set("gt_boxes", new Boxes(tensor(new float[] { 2, 4, 34, 30 }, [1, 4])));
        var (_, losses) = rpn.Forward([(32, 32)], new Dictionary<string, Tensor> { ["p4"] = randn(1, 4, 2, 2) }, [gt]);
        (losses["loss_rpn_cls"] + losses["loss_rpn_loc"]).backward();
        foreach (var (name, p) in rpn.named_parameters())
            Assert.That(p.grad, Is.Not.Null, name);
    }

    [Test]
    public void Image_without_ground_truth_samples_only_negatives()
    {
        using var rpn = ConstantRPN();
        rpn.train();
        using var scope = NewDisposeScope();
        var gt = new Instances((32, 32));
        gt.Set("gt_boxes", new Boxes(zeros(0, 4)));
        var (_, losses) = rpn.Forward([(32, 32)], new Dictionary<string, Tensor> { ["p4"] = randn(1, 4, 2, 2) }, [gt]);
        Assert.That(losses["loss_rpn_loc"].item<float>(), Is.EqualTo(0f));
        Assert.That(losses["loss_rpn_cls"].item<float>(), Is.EqualTo(4 * Math.Log(1 + Math.Exp(ObjectnessBias)) / 256).Within(1e-6));
    }

    [Test]
    public void Proposals_are_clipped_to_the_unpadded_image_and_sorted_by_logit()
    {
        using var rpn = ConstantRPN();
        rpn.eval();
        using var scope = NewDisposeScope();
        var features = new Dictionary<string, Tensor> { ["p4"] = randn(2, 4, 2, 2) };
        var (proposals, losses) = rpn.Forward([(30, 20), (32, 32)], features);
        Assert.That(losses, Is.Empty);
        Assert.That(proposals, Has.Count.EqualTo(2));
        var boxes = proposals[0].Get<Boxes>("proposal_boxes").Tensor;
        Assert.That(boxes.shape[0], Is.InRange(1, 4));
        Assert.That(boxes.min().item<float>(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(boxes[.., 2].max().item<float>(), Is.LessThanOrEqualTo(20f));
        Assert.That(boxes[.., 3].max().item<float>(), Is.LessThanOrEqualTo(30f));
        var logits = proposals[0].Get<Tensor>("objectness_logits").data<float>().ToArray();
        Assert.That(logits, Is.Ordered.Descending);
    }
}
