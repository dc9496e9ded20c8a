using TorchSharp.Utils;
using D2.Detection.Config;
using D2.Detection.Layers;
using D2.Detection.Structures;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ROIHeads;

/// <summary>
/// Detectron2's FastRCNNOutputLayers (<c>box_predictor</c>): <c>cls_score</c> over K + 1 classes (background is the last
/// column) and class-specific <c>bbox_pred</c> (4K; 4 when class-agnostic), their losses and inference.
/// </summary>
public sealed class FastRCNNOutputLayers : nn.Module<Tensor, (Tensor Scores, Tensor ProposalDeltas)>
{
    [ComponentName(Name = "cls_score")]
    private readonly TorchSharp.Modules.Linear _clsScore;
    [ComponentName(Name = "bbox_pred")]
    private readonly TorchSharp.Modules.Linear _bboxPred;

    public FastRCNNOutputLayers(long inputSize, int numClasses, Box2BoxTransform box2BoxTransform, bool clsAgnosticBboxReg = false,
        double smoothL1Beta = 0.0, double testScoreThreshold = 0.05, double testNMSThreshold = 0.5, int testTopKPerImage = 100,
        double clsLossWeight = 1.0, double boxRegLossWeight = 1.0)
        : base(nameof(FastRCNNOutputLayers))
    {
        NumClasses = numClasses;
        Box2BoxTransform = box2BoxTransform;
        ClsAgnosticBboxReg = clsAgnosticBboxReg;
        SmoothL1Beta = smoothL1Beta;
        TestScoreThreshold = testScoreThreshold;
        TestNMSThreshold = testNMSThreshold;
        TestTopKPerImage = testTopKPerImage;
        ClsLossWeight = clsLossWeight;
        BoxRegLossWeight = boxRegLossWeight;
        _clsScore = nn.Linear(inputSize, numClasses + 1);
        _bboxPred = nn.Linear(inputSize, (clsAgnosticBboxReg ? 1 : numClasses) * 4);
        WeightInit.NormalFill(_clsScore.weight!, _clsScore.bias, 0.01);
        WeightInit.NormalFill(_bboxPred.weight!, _bboxPred.bias, 0.001);
        register_module("cls_score", _clsScore);
        register_module("bbox_pred", _bboxPred);
    }

    /// <summary>
    /// Detectron2's FastRCNNOutputLayers.from_config: MODEL.ROI_HEADS.{NUM_CLASSES, SCORE_THRESH_TEST, NMS_THRESH_TEST},
    /// MODEL.ROI_BOX_HEAD.{BBOX_REG_WEIGHTS, CLS_AGNOSTIC_BBOX_REG, SMOOTH_L1_BETA, BBOX_REG_LOSS_WEIGHT}, TEST.DETECTIONS_PER_IMAGE.
    /// </summary>
    /// <param name="inputSize">width of the box head's output</param>
    public static FastRCNNOutputLayers FromConfig(CfgNode cfg, long inputSize)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var weights = cfg.Get<double[]>("MODEL.ROI_BOX_HEAD.BBOX_REG_WEIGHTS");
        return new FastRCNNOutputLayers(inputSize, cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES"),
            new Box2BoxTransform((weights[0], weights[1], weights[2], weights[3])),
            cfg.Get<bool>("MODEL.ROI_BOX_HEAD.CLS_AGNOSTIC_BBOX_REG"), cfg.Get<double>("MODEL.ROI_BOX_HEAD.SMOOTH_L1_BETA"),
            cfg.Get<double>("MODEL.ROI_HEADS.SCORE_THRESH_TEST"), cfg.Get<double>("MODEL.ROI_HEADS.NMS_THRESH_TEST"),
            cfg.Get<int>("TEST.DETECTIONS_PER_IMAGE"), boxRegLossWeight: cfg.Get<double>("MODEL.ROI_BOX_HEAD.BBOX_REG_LOSS_WEIGHT"));
    }

    public int NumClasses { get; }
    public Box2BoxTransform Box2BoxTransform { get; }
    public bool ClsAgnosticBboxReg { get; }
    public double SmoothL1Beta { get; }
    public double TestScoreThreshold { get; }
    public double TestNMSThreshold { get; }
    public int TestTopKPerImage { get; }
    public double ClsLossWeight { get; }
    public double BoxRegLossWeight { get; }

    /// <summary>fast_rcnn/cls_accuracy, fg_cls_accuracy and false_negative of the last loss computation.</summary>
    public IReadOnlyDictionary<string, double> LastStatistics { get; private set; } = new Dictionary<string, double>();

    /// <param name="x">(R, D) box features (more dims are flattened)</param>
    /// <returns>scores (R, K + 1) logits and proposal deltas (R, 4K or 4)</returns>
    public override (Tensor Scores, Tensor ProposalDeltas) forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        if (x.dim() > 2)
            x = x.flatten(1);
        return (_clsScore.forward(x).MoveToOuterDisposeScope(), _bboxPred.forward(x).MoveToOuterDisposeScope());
    }

    /// <param name="proposals">per image, sampled proposals with "proposal_boxes", "gt_classes" and (when there is gt) "gt_boxes"</param>
    /// <returns>"loss_cls" (mean cross-entropy) and "loss_box_reg" (summed over foreground, divided by all sampled ROIs)</returns>
    public Dictionary<string, Tensor> Losses((Tensor Scores, Tensor ProposalDeltas) predictions, IReadOnlyList<Instances> proposals)
    {
        using var scope = NewDisposeScope();
        var (scores, deltas) = predictions;
        var gtClasses = proposals.Count == 0 ? empty(0, int64) : cat(proposals.Select(p => p.Get<Tensor>("gt_classes")).ToArray(), 0);
        LastStatistics = ClassificationStatistics(scores, gtClasses);
        var proposalBoxes = cat(proposals.Select(p => p.Get<Boxes>("proposal_boxes").Tensor).ToArray(), 0);
        var gtBoxes = cat(proposals.Select(p => (p.Has("gt_boxes") ? p.Get<Boxes>("gt_boxes") : p.Get<Boxes>("proposal_boxes")).Tensor).ToArray(), 0);

        // Detectron2's cross_entropy returns a zero connected to the graph for an empty batch.
        var lossCls = gtClasses.numel() == 0 ? scores.sum().mul(Zero) : nn.functional.cross_entropy(scores, gtClasses);
        var lossBox = BoxRegressionLoss(proposalBoxes, gtBoxes, deltas, gtClasses);
        using Scalar clsWeight = ClsLossWeight, boxRegWeight = BoxRegLossWeight;
        return new()
        {
            ["loss_cls"] = lossCls.mul(clsWeight).MoveToOuterDisposeScope(),
            ["loss_box_reg"] = lossBox.mul(boxRegWeight).MoveToOuterDisposeScope(),
        };
    }

    private Tensor BoxRegressionLoss(Tensor proposalBoxes, Tensor gtBoxes, Tensor predDeltas, Tensor gtClasses)
    {
        using var numClasses = NumClasses.ToScalar();
        var foreground = nonzero(gtClasses.ge(Zero).logical_and(gtClasses.lt(numClasses))).flatten();
        var fgDeltas = predDeltas.shape[1] == 4
            ? predDeltas[foreground]
            : predDeltas.view(-1, NumClasses, 4)[foreground, gtClasses[foreground]];
        var targets = Box2BoxTransform.GetDeltas(proposalBoxes[foreground], gtBoxes[foreground]);
        var loss = SmoothL1Loss.Sum(fgDeltas, targets, SmoothL1Beta);
        // Normalised by every sampled ROI (foreground and background), as Detectron2 does.
        using var sampled = Math.Max(gtClasses.numel(), 1).ToScalar();
        return loss.div(sampled);
    }

    private Dictionary<string, double> ClassificationStatistics(Tensor scores, Tensor gtClasses)
    {
        var count = gtClasses.numel();
        if (count == 0)
            return [];
        using var scope = NewDisposeScope();
        var predicted = scores.argmax(1);
        using var numClasses = NumClasses.ToScalar();
        var foreground = gtClasses.ge(Zero).logical_and(gtClasses.lt(numClasses));
        var numForeground = foreground.sum().item<long>();
        var fgGt = gtClasses[foreground];
        var fgPredicted = predicted[foreground];
        var statistics = new Dictionary<string, double>
        {
            ["fast_rcnn/cls_accuracy"] = predicted.eq(gtClasses).sum().item<long>() / (double)count,
        };
        if (numForeground > 0)
        {
            statistics["fast_rcnn/fg_cls_accuracy"] = fgPredicted.eq(fgGt).sum().item<long>() / (double)numForeground;
            statistics["fast_rcnn/false_negative"] = fgPredicted.eq(numClasses).sum().item<long>() / (double)numForeground;
        }
        return statistics;
    }

    /// <summary>Detectron2's inference: softmax scores, decoded boxes, then per image threshold, per-class NMS and top-k.</summary>
    /// <returns>per image, "pred_boxes", "scores", "pred_classes" in the proposals' (unpadded input) coordinates</returns>
    /// <param name="trace">receives the pre-NMS candidate counts</param>
    public List<Instances> Inference((Tensor Scores, Tensor ProposalDeltas) predictions, IReadOnlyList<Instances> proposals, InferenceTrace? trace = null)
    {
        using var scope = NewDisposeScope();
        var boxes = PredictBoxes(predictions.ProposalDeltas, proposals);
        var scores = PredictProbs(predictions.Scores, proposals);
        var (instances, _) = FastRCNNInference.Run(boxes, scores, proposals.Select(p => p.ImageSize).ToList(),
            TestScoreThreshold, TestNMSThreshold, TestTopKPerImage);
        trace?.RecordBoxHead(scores, TestScoreThreshold, instances);
        foreach (var instance in instances)
            instance.MoveToOuterDisposeScope();
        return instances;
    }

    /// <returns>per image, decoded boxes (Ri, 4K or 4) from each image's proposals</returns>
    public List<Tensor> PredictBoxes(Tensor proposalDeltas, IReadOnlyList<Instances> proposals)
    {
        if (proposals.Count == 0)
            return [];
        using var scope = NewDisposeScope();
        var proposalBoxes = cat(proposals.Select(p => p.Get<Boxes>("proposal_boxes").Tensor).ToArray(), 0);
        var boxes = Box2BoxTransform.ApplyDeltas(proposalDeltas, proposalBoxes);
        return boxes.split(proposals.Select(p => p.Length).ToArray(), 0).Select(t => t.MoveToOuterDisposeScope()).ToList();
    }

    /// <returns>per image, class probabilities (Ri, K + 1)</returns>
    public List<Tensor> PredictProbs(Tensor scores, IReadOnlyList<Instances> proposals)
    {
        using var scope = NewDisposeScope();
        var probs = nn.functional.softmax(scores, -1);
        return probs.split(proposals.Select(p => p.Length).ToArray(), 0).Select(t => t.MoveToOuterDisposeScope()).ToList();
    }
}
