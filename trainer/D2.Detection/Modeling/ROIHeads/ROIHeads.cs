using D2.Detection.Config;
using D2.Detection.Structures;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ROIHeads;

/// <summary>
/// Detectron2's ROIHeads: the base of every ROI_HEADS_REGISTRY entry (MODEL.ROI_HEADS.NAME; <see cref="StandardROIHeads"/>
/// is the built-in). It holds what all of them share, the proposal matcher and the per-image sampling of
/// <see cref="LabelAndSampleProposals"/>; a subclass adds its heads and implements <see cref="Forward"/>. Its state-dict
/// names sit under <c>roi_heads.*</c>.
/// </summary>
public abstract class ROIHeads : nn.Module
{
    // ln((1 - 1e-10) / 1e-10): the objectness logit Detectron2 gives ground-truth boxes appended as proposals.
    private static readonly double GroundTruthLogit = Math.Log((1.0 - 1e-10) / (1 - (1.0 - 1e-10)));

    private readonly Matcher _proposalMatcher;
    private bool _sampled;

    /// <param name="numClasses">foreground classes K; background is class K</param>
    /// <param name="batchSizePerImage">proposals sampled per image in training</param>
    /// <param name="positiveFraction">the largest share of foreground in that sample</param>
    /// <param name="proposalAppendGt">add each image's ground-truth boxes to its proposals before sampling</param>
    protected ROIHeads(string name, int numClasses, int batchSizePerImage, double positiveFraction, Matcher proposalMatcher, bool proposalAppendGt)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(proposalMatcher);
        NumClasses = numClasses;
        BatchSizePerImage = batchSizePerImage;
        PositiveFraction = positiveFraction;
        ProposalAppendGt = proposalAppendGt;
        _proposalMatcher = proposalMatcher;
    }

    /// <summary>
    /// Detectron2's ROIHeads.from_config: MODEL.ROI_HEADS.{NUM_CLASSES, BATCH_SIZE_PER_IMAGE, POSITIVE_FRACTION,
    /// IOU_THRESHOLDS, IOU_LABELS, PROPOSAL_APPEND_GT}, for subclasses whose own FromConfig reads the rest.
    /// </summary>
    protected ROIHeads(string name, CfgNode cfg)
        : this(name, cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES"), cfg.Get<int>("MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE"),
            cfg.Get<double>("MODEL.ROI_HEADS.POSITIVE_FRACTION"),
            new Matcher(cfg.Get<double[]>("MODEL.ROI_HEADS.IOU_THRESHOLDS"), cfg.Get<int[]>("MODEL.ROI_HEADS.IOU_LABELS"), allowLowQualityMatches: false),
            cfg.Get<bool>("MODEL.ROI_HEADS.PROPOSAL_APPEND_GT"))
    {
    }

    public int NumClasses { get; }
    public int BatchSizePerImage { get; }
    public double PositiveFraction { get; }
    public bool ProposalAppendGt { get; }

    /// <summary>roi_head/num_fg_samples and num_bg_samples of the last <see cref="LabelAndSampleProposals"/>, per image.</summary>
    public (double Foreground, double Background) LastSampleCounts { get; private set; }

    /// <summary>
    /// Scalars of the last training forward for the event storage (Detectron2 puts them there from inside forward): the
    /// sample counts once proposals have been sampled; subclasses add their heads' statistics.
    /// </summary>
    public virtual IReadOnlyList<KeyValuePair<string, double>> TrainingStatistics => _sampled
        ? [new("roi_head/num_fg_samples", LastSampleCounts.Foreground), new("roi_head/num_bg_samples", LastSampleCounts.Background)]
        : [];

    /// <param name="images">the normalised, padded batch (Detectron2's StandardROIHeads does not read it)</param>
    /// <param name="features">backbone outputs by name, each (N, C, Hi, Wi)</param>
    /// <param name="proposals">per image, "proposal_boxes" and "objectness_logits"</param>
    /// <param name="targets">per image, "gt_boxes", "gt_classes" (and "gt_masks" with masks on); required in training</param>
    /// <param name="trace">in inference, collects summaries of intermediate results when given</param>
    /// <param name="stageCompleted">in inference, called after <see cref="InferenceStage.BoxHead"/> and <see cref="InferenceStage.MaskHead"/> (it may throw to stop there)</param>
    /// <returns>in training the losses (and no instances); in inference per image "pred_boxes", "scores", "pred_classes" (and e.g. "pred_masks")</returns>
    public abstract (List<Instances> Instances, Dictionary<string, Tensor> Losses) Forward(ImageList images, IReadOnlyDictionary<string, Tensor> features,
        IReadOnlyList<Instances> proposals, IReadOnlyList<Instances>? targets = null, InferenceTrace? trace = null,
        Action<InferenceStage>? stageCompleted = null);

    /// <summary>
    /// Detectron2's label_and_sample_proposals: per image, optionally add the ground truth to the proposals, match them with
    /// the proposal matcher and sample <see cref="BatchSizePerImage"/> (foreground first, background is class K); each sampled
    /// proposal gets "gt_classes" and its matched ground truth's other "gt_*" fields.
    /// </summary>
    protected List<Instances> LabelAndSampleProposals(IReadOnlyList<Instances> proposals, IReadOnlyList<Instances> targets)
    {
        ArgumentNullException.ThrowIfNull(proposals);
        ArgumentNullException.ThrowIfNull(targets);
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
            using var numClasses = NumClasses.ToScalar();
            Tensor classes;
            if (gtClassesAll.numel() > 0)
            {
                classes = gtClassesAll[matchedIdxs].clone();
                classes[matchedLabels.eq(Zero)] = tensor(NumClasses, int64);
                classes[matchedLabels.eq(MinusOne)] = tensor(-1L, int64);
            }
            else
            {
                classes = full_like(matchedIdxs, numClasses, dtype: int64);
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
            var numBackground = sampledClasses.eq(numClasses).sum().item<long>();
            background += numBackground;
            foreground += sampledClasses.numel() - numBackground;
            result.Add(sampled);
        }
        LastSampleCounts = (foreground / (double)Math.Max(proposals.Count, 1), background / (double)Math.Max(proposals.Count, 1));
        _sampled = true;
        return result;
    }

    private static Instances AppendGroundTruth(Instances proposals, Instances target)
    {
        var gtBoxes = target.Get<Boxes>("gt_boxes");
        var gtProposals = new Instances(proposals.ImageSize);
        gtProposals.Set("proposal_boxes", gtBoxes.Clone());
        using var logit = GroundTruthLogit.ToScalar();
        gtProposals.Set("objectness_logits", full(gtBoxes.Length, logit, dtype: float32, device: gtBoxes.Device));
        return Instances.Cat([proposals, gtProposals]);
    }
}
