using TorchSharp.Utils;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.RoiHeads;

/// <summary>
/// Detectron2's StandardROIHeads: in training, append the ground truth to the proposals, label them with the proposal
/// matcher and sample a fixed budget per image (foreground first; background is class K), then the box head losses
/// and, with masks on, the mask loss on the foreground samples. In inference, box predictions then masks on the final
/// boxes. State-dict names: <c>box_head.*</c>, <c>box_predictor.*</c>, <c>mask_head.*</c>.
/// </summary>
public sealed class StandardROIHeads : nn.Module
{
    // ln((1 - 1e-10) / 1e-10): the objectness logit Detectron2 gives ground-truth boxes appended as proposals.
    private static readonly double GroundTruthLogit = Math.Log((1.0 - 1e-10) / (1 - (1.0 - 1e-10)));

    private readonly string[] _boxInFeatures;
    [ComponentName(Name = "box_pooler")]
    private readonly ROIPooler _boxPooler;
    [ComponentName(Name = "box_head")]
    private readonly FastRCNNConvFCHead _boxHead;
    [ComponentName(Name = "box_predictor")]
    private readonly FastRCNNOutputLayers _boxPredictor;
    private readonly string[] _maskInFeatures;
    [ComponentName(Name = "mask_pooler")]
    private readonly ROIPooler? _maskPooler;
    [ComponentName(Name = "mask_head")]
    private readonly MaskRCNNConvUpsampleHead? _maskHead;
    private readonly Matcher _proposalMatcher;

    public StandardROIHeads(int numClasses, int batchSizePerImage, double positiveFraction, Matcher proposalMatcher, bool proposalAppendGt,
        IReadOnlyList<string> boxInFeatures, ROIPooler boxPooler, FastRCNNConvFCHead boxHead, FastRCNNOutputLayers boxPredictor,
        IReadOnlyList<string>? maskInFeatures = null, ROIPooler? maskPooler = null, MaskRCNNConvUpsampleHead? maskHead = null)
        : base(nameof(StandardROIHeads))
    {
        if ((maskPooler is null) != (maskHead is null))
            throw new ArgumentException("The mask pooler and the mask head come together (MODEL.MASK_ON).");
        NumClasses = numClasses;
        BatchSizePerImage = batchSizePerImage;
        PositiveFraction = positiveFraction;
        ProposalAppendGt = proposalAppendGt;
        _proposalMatcher = proposalMatcher;
        _boxInFeatures = [.. boxInFeatures];
        _boxPooler = boxPooler;
        _boxHead = boxHead;
        _boxPredictor = boxPredictor;
        _maskInFeatures = [.. maskInFeatures ?? boxInFeatures];
        _maskPooler = maskPooler;
        _maskHead = maskHead;
        register_module("box_pooler", boxPooler);
        register_module("box_head", boxHead);
        register_module("box_predictor", boxPredictor);
        if (maskHead is not null)
        {
            register_module("mask_pooler", maskPooler!);
            register_module("mask_head", maskHead);
        }
    }

    public int NumClasses { get; }
    public int BatchSizePerImage { get; }
    public double PositiveFraction { get; }
    public bool ProposalAppendGt { get; }
    public bool MaskOn => _maskHead is not null;
    public FastRCNNOutputLayers BoxPredictor => _boxPredictor;

    /// <summary>roi_head/num_fg_samples and num_bg_samples of the last training forward, per image.</summary>
    public (double Foreground, double Background) LastSampleCounts { get; private set; }

    /// <summary>Mask statistics (mask_rcnn/accuracy, false_positive, false_negative) of the last training forward.</summary>
    public IReadOnlyDictionary<string, double> LastMaskStatistics { get; private set; } = new Dictionary<string, double>();

    /// <param name="features">backbone outputs by name, each (N, C, Hi, Wi)</param>
    /// <param name="proposals">per image, "proposal_boxes" and "objectness_logits"</param>
    /// <param name="targets">per image, "gt_boxes", "gt_classes" (and "gt_masks" with masks on); required in training</param>
    /// <param name="stageCompleted">in inference, called after the box head and after the mask head (it may throw to stop there)</param>
    /// <returns>in training the losses; in inference per image "pred_boxes", "scores", "pred_classes" (and "pred_masks")</returns>
    public (List<Instances> Instances, Dictionary<string, Tensor> Losses) Forward(IReadOnlyDictionary<string, Tensor> features,
        IReadOnlyList<Instances> proposals, IReadOnlyList<Instances>? targets = null, InferenceTrace? trace = null,
        Action<InferenceStage>? stageCompleted = null)
    {
        if (training)
        {
            if (targets is null)
                throw new ArgumentException("ROI heads need ground-truth instances in training.", nameof(targets));
            using var scope = NewDisposeScope();
            List<Instances> sampled;
            Dictionary<string, Tensor> losses;
            using (StageProfile.Measure("box_head"))
            {
                sampled = LabelAndSampleProposals(proposals, targets);
                losses = ForwardBoxTraining(features, sampled);
            }
            if (_maskHead is not null)
                using (StageProfile.Measure("mask_head"))
                    foreach (var (name, loss) in ForwardMaskTraining(features, sampled))
                        losses[name] = loss;
            foreach (var loss in losses.Values)
                loss.MoveToOuterDisposeScope();
            return ([], losses);
        }
        using (no_grad())
        {
            using var scope = NewDisposeScope();
            List<Instances> instances;
            using (StageProfile.Measure("box_head"))
                instances = ForwardBoxInference(features, proposals, trace);
            stageCompleted?.Invoke(InferenceStage.BoxHead);
            if (_maskHead is not null)
            {
                using (StageProfile.Measure("mask_head"))
                    ForwardMaskInference(features, instances);
                stageCompleted?.Invoke(InferenceStage.MaskHead);
            }
            foreach (var instance in instances)
                instance.MoveToOuterDisposeScope();
            return (instances, []);
        }
    }

    /// <summary>Detectron2's label_and_sample_proposals: per image, a sampled subset with "gt_classes" and the matched "gt_*" fields.</summary>
    internal List<Instances> LabelAndSampleProposals(IReadOnlyList<Instances> proposals, IReadOnlyList<Instances> targets)
    {
        using var noGrad = no_grad();
        var result = new List<Instances>();
        long foreground = 0, background = 0;
        for (var i = 0; i < proposals.Count; i++)
        {
            var target = targets[i];
            var perImage = ProposalAppendGt ? AppendGroundTruth(proposals[i], target) : proposals[i];
            var gtBoxes = target.Get<Boxes>("gt_boxes");
            using var iou = Boxes.PairwiseIou(gtBoxes, perImage.Get<Boxes>("proposal_boxes"));
            var (matchedIdxs, matchedLabels) = _proposalMatcher.Match(iou);
            var gtClassesAll = target.Get<Tensor>("gt_classes");
            Tensor classes;
            if (gtClassesAll.numel() > 0)
            {
                classes = gtClassesAll[matchedIdxs].clone();
                classes[matchedLabels == 0] = tensor(NumClasses, int64);
                classes[matchedLabels == -1] = tensor(-1L, int64);
            }
            else
            {
                classes = full_like(matchedIdxs, NumClasses, dtype: int64);
            }
            var (fg, bg) = Sampling.SubsampleLabels(classes, BatchSizePerImage, PositiveFraction, NumClasses);
            var sampledIdxs = cat([fg, bg], 0);
            var sampled = perImage.Index(sampledIdxs);
            var sampledClasses = classes[sampledIdxs];
            sampled.Set("gt_classes", sampledClasses);
            if (gtClassesAll.numel() > 0)
            {
                // Each sampled proposal carries its matched ground truth's fields (gt_boxes, gt_masks, ...).
                var matchedTargets = target.Index(matchedIdxs[sampledIdxs]);
                foreach (var name in matchedTargets.FieldNames.Where(n => n.StartsWith("gt_", StringComparison.Ordinal)).ToList())
                    if (!sampled.Has(name))
                        sampled.Set(name, matchedTargets.Get(name));
            }
            var numBackground = sampledClasses.eq(NumClasses).sum().item<long>();
            background += numBackground;
            foreground += sampledClasses.numel() - numBackground;
            result.Add(sampled);
        }
        LastSampleCounts = (foreground / (double)Math.Max(proposals.Count, 1), background / (double)Math.Max(proposals.Count, 1));
        return result;
    }

    private static Instances AppendGroundTruth(Instances proposals, Instances target)
    {
        var gtBoxes = target.Get<Boxes>("gt_boxes");
        var gtProposals = new Instances(proposals.ImageSize);
        gtProposals.Set("proposal_boxes", gtBoxes.Clone());
        gtProposals.Set("objectness_logits", full(gtBoxes.Length, GroundTruthLogit, dtype: float32, device: gtBoxes.Device));
        return Instances.Cat([proposals, gtProposals]);
    }

    private Dictionary<string, Tensor> ForwardBoxTraining(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances> proposals)
    {
        var boxFeatures = _boxPooler.forward(_boxInFeatures.Select(f => features[f]).ToList(), proposals.Select(p => p.Get<Boxes>("proposal_boxes").Tensor).ToList());
        var predictions = _boxPredictor.forward(_boxHead.forward(boxFeatures));
        return _boxPredictor.Losses(predictions, proposals);
    }

    private List<Instances> ForwardBoxInference(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances> proposals, InferenceTrace? trace)
    {
        Tensor boxFeatures;
        using (StageProfile.Measure("box_head.pooler"))
            boxFeatures = _boxPooler.forward(_boxInFeatures.Select(f => features[f]).ToList(), proposals.Select(p => p.Get<Boxes>("proposal_boxes").Tensor).ToList());
        (Tensor, Tensor) predictions;
        using (StageProfile.Measure("box_head.layers"))
            predictions = _boxPredictor.forward(_boxHead.forward(boxFeatures));
        using var stage = StageProfile.Measure("box_head.inference");
        return _boxPredictor.Inference(predictions, proposals, trace);
    }

    private Dictionary<string, Tensor> ForwardMaskTraining(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances> proposals)
    {
        // Only foreground proposals (a class in [0, K)) train the mask head.
        var foreground = proposals.Select(p =>
        {
            var classes = p.Get<Tensor>("gt_classes");
            return p.Index(nonzero(classes.ge(0).logical_and(classes.ne(NumClasses))).flatten());
        }).ToList();
        var maskFeatures = _maskPooler!.forward(_maskInFeatures.Select(f => features[f]).ToList(), foreground.Select(p => p.Get<Boxes>("proposal_boxes").Tensor).ToList());
        var logits = _maskHead!.forward(maskFeatures);
        var (loss, statistics) = MaskRcnnLoss.Compute(logits, foreground);
        LastMaskStatistics = statistics;
        return new() { ["loss_mask"] = loss };
    }

    private void ForwardMaskInference(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances> instances)
    {
        Tensor maskFeatures, logits;
        using (StageProfile.Measure("mask_head.pooler"))
            maskFeatures = _maskPooler!.forward(_maskInFeatures.Select(f => features[f]).ToList(), instances.Select(p => p.Get<Boxes>("pred_boxes").Tensor).ToList());
        using (StageProfile.Measure("mask_head.layers"))
            logits = _maskHead!.forward(maskFeatures);
        using var stage = StageProfile.Measure("mask_head.inference");
        MaskRcnnInference.Apply(logits, instances);
    }
}
