using TorchSharp.Utils;
using D2.Detection.Config;
using D2.Detection.Layers;
using D2.Detection.Modeling.Backbone;
using D2.Detection.Structures;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ProposalGenerator;

/// <summary>
/// Detectron2's RPN: the head on the chosen feature levels, anchor labelling and sampling, the two losses, and proposal
/// selection (train and test; no gradient flows through proposals). State-dict names: <c>rpn_head.*</c>.
/// Registered as "RPN" (MODEL.PROPOSAL_GENERATOR.NAME); its head comes from MODEL.RPN.HEAD_NAME.
/// </summary>
public sealed class RPN : ProposalGenerator
{
    private readonly string[] _inFeatures;
    [ComponentName(Name = "rpn_head")]
    private readonly nn.Module<IReadOnlyList<Tensor>, (List<Tensor> ObjectnessLogits, List<Tensor> AnchorDeltas)> _head;
    private readonly DefaultAnchorGenerator _anchorGenerator;
    private readonly Matcher _anchorMatcher;
    private readonly Box2BoxTransform _box2BoxTransform;
    private readonly int _batchSizePerImage;
    private readonly double _positiveFraction;
    private readonly (int Train, int Test) _preNMSTopK, _postNMSTopK;
    private readonly double _nmsThreshold, _minBoxSize, _smoothL1Beta, _lossWeight, _boxRegLossWeight;

    /// <param name="head">per level (N, C, Hi, Wi) to objectness logits (N, A, Hi, Wi) and anchor deltas (N, A * 4, Hi, Wi)</param>
    public RPN(IReadOnlyList<string> inFeatures, nn.Module<IReadOnlyList<Tensor>, (List<Tensor> ObjectnessLogits, List<Tensor> AnchorDeltas)> head, DefaultAnchorGenerator anchorGenerator, Matcher anchorMatcher,
        Box2BoxTransform box2BoxTransform, int batchSizePerImage, double positiveFraction, (int Train, int Test) preNMSTopK,
        (int Train, int Test) postNMSTopK, double nmsThreshold = 0.7, double minBoxSize = 0.0, double smoothL1Beta = 0.0,
        double lossWeight = 1.0, double boxRegLossWeight = 1.0)
        : base(nameof(RPN))
    {
        _inFeatures = [.. inFeatures];
        _head = head;
        _anchorGenerator = anchorGenerator;
        _anchorMatcher = anchorMatcher;
        _box2BoxTransform = box2BoxTransform;
        _batchSizePerImage = batchSizePerImage;
        _positiveFraction = positiveFraction;
        _preNMSTopK = preNMSTopK;
        _postNMSTopK = postNMSTopK;
        _nmsThreshold = nmsThreshold;
        _minBoxSize = minBoxSize;
        _smoothL1Beta = smoothL1Beta;
        _lossWeight = lossWeight;
        _boxRegLossWeight = boxRegLossWeight;
        register_module("rpn_head", head);
    }

    /// <summary>
    /// Detectron2's RPN.from_config: MODEL.RPN.*, MODEL.PROPOSAL_GENERATOR.MIN_SIZE, the anchor generator of
    /// MODEL.ANCHOR_GENERATOR.* and the head MODEL.RPN.HEAD_NAME names.
    /// </summary>
    /// <param name="inputShape">the backbone's outputs by name</param>
    public static RPN FromConfig(CfgNode cfg, IReadOnlyDictionary<string, ShapeSpec> inputShape)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var inFeatures = cfg.Get<string[]>("MODEL.RPN.IN_FEATURES");
        var shapes = ShapeSpec.Select(inputShape, inFeatures, "MODEL.RPN.IN_FEATURES");
        var anchorGenerator = DefaultAnchorGenerator.FromConfig(cfg, shapes);
        var head = ModelBuilder.RPNHeadRegistry[cfg.Get<string>("MODEL.RPN.HEAD_NAME")](cfg, shapes);
        var weights = cfg.Get<double[]>("MODEL.RPN.BBOX_REG_WEIGHTS");
        return new RPN(inFeatures, head, anchorGenerator,
            new Matcher(cfg.Get<double[]>("MODEL.RPN.IOU_THRESHOLDS"), cfg.Get<int[]>("MODEL.RPN.IOU_LABELS"), allowLowQualityMatches: true),
            new Box2BoxTransform((weights[0], weights[1], weights[2], weights[3])),
            cfg.Get<int>("MODEL.RPN.BATCH_SIZE_PER_IMAGE"),
            cfg.Get<double>("MODEL.RPN.POSITIVE_FRACTION"),
            (cfg.Get<int>("MODEL.RPN.PRE_NMS_TOPK_TRAIN"), cfg.Get<int>("MODEL.RPN.PRE_NMS_TOPK_TEST")),
            (cfg.Get<int>("MODEL.RPN.POST_NMS_TOPK_TRAIN"), cfg.Get<int>("MODEL.RPN.POST_NMS_TOPK_TEST")),
            cfg.Get<double>("MODEL.RPN.NMS_THRESH"),
            cfg.Get<double>("MODEL.PROPOSAL_GENERATOR.MIN_SIZE"),
            cfg.Get<double>("MODEL.RPN.SMOOTH_L1_BETA"),
            cfg.Get<double>("MODEL.RPN.LOSS_WEIGHT"),
            cfg.Get<double>("MODEL.RPN.BBOX_REG_LOSS_WEIGHT"));
    }

    /// <summary>Sampled-anchor counts of the last training forward, per image (Detectron2 logs rpn/num_pos_anchors, rpn/num_neg_anchors).</summary>
    public (double Positive, double Negative) LastAnchorCounts { get; private set; }

    public override IReadOnlyList<KeyValuePair<string, double>> TrainingStatistics =>
    [
        new("rpn/num_pos_anchors", LastAnchorCounts.Positive),
        new("rpn/num_neg_anchors", LastAnchorCounts.Negative),
    ];

    public override (List<Instances> Proposals, Dictionary<string, Tensor> Losses) Forward(ImageList images,
        IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances>? gtInstances = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        return Forward(images.ImageSizes, features, gtInstances);
    }

    /// <param name="imageSizes">per image, the unpadded (height, width)</param>
    /// <param name="features">backbone outputs by name, each (N, C, Hi, Wi)</param>
    /// <param name="gtInstances">per image, Instances with "gt_boxes" (Boxes); required in training</param>
    /// <returns>per image proposals ("proposal_boxes", "objectness_logits"); losses "loss_rpn_cls", "loss_rpn_loc" in training</returns>
    public (List<Instances> Proposals, Dictionary<string, Tensor> Losses) Forward(IReadOnlyList<(int Height, int Width)> imageSizes,
        IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances>? gtInstances = null)
    {
        using var stage = StageProfile.Measure("rpn");
        using var scope = NewDisposeScope();
        var levelFeatures = _inFeatures.Select(f => features[f]).ToList();
        List<Tensor> anchors;
        using (StageProfile.Measure("rpn.anchors"))
            anchors = _anchorGenerator.Generate(levelFeatures);
        List<Tensor> rawLogits, rawDeltas;
        using (StageProfile.Measure("rpn.head"))
            (rawLogits, rawDeltas) = _head.forward(levelFeatures);
        // (N, A, H, W) -> (N, H*W*A) and (N, A*4, H, W) -> (N, H*W*A, 4), matching the anchors' (y, x, a) order.
        var logits = rawLogits.Select(s => s.permute(0, 2, 3, 1).flatten(1)).ToList();
        var deltas = rawDeltas.Select(d => d.view(d.shape[0], -1, 4, d.shape[^2], d.shape[^1]).permute(0, 3, 4, 1, 2).flatten(1, -2)).ToList();

        var losses = new Dictionary<string, Tensor>();
        if (training)
        {
            if (gtInstances is null)
                throw new ArgumentException("RPN needs ground-truth instances in training.", nameof(gtInstances));
            var (gtLabels, gtBoxes) = LabelAndSampleAnchors(anchors, gtInstances);
            foreach (var (name, loss) in Losses(anchors, logits, gtLabels, deltas, gtBoxes))
                losses[name] = loss.MoveToOuterDisposeScope();
        }

        List<Instances> proposals;
        using (StageProfile.Measure("rpn.proposals"))
        using (no_grad())
        {
            var decoded = DecodeProposals(anchors, deltas);
            var (preTopK, postTopK) = training ? (_preNMSTopK.Train, _postNMSTopK.Train) : (_preNMSTopK.Test, _postNMSTopK.Test);
            proposals = RPNProposals.FindTop(decoded, logits.Select(l => l.detach()).ToList(), imageSizes, _nmsThreshold, preTopK, postTopK, _minBoxSize, training);
        }
        foreach (var p in proposals)
            p.MoveToOuterDisposeScope();
        return (proposals, losses);
    }

    /// <returns>per image, labels (R) in {-1, 0, 1} after sampling, and the matched gt box of every anchor (R, 4)</returns>
    internal (List<Tensor> Labels, List<Tensor> MatchedBoxes) LabelAndSampleAnchors(IReadOnlyList<Tensor> anchorsPerLevel, IReadOnlyList<Instances> gtInstances)
    {
        var anchors = new Boxes(cat(anchorsPerLevel.ToArray(), 0));
        var labels = new List<Tensor>();
        var matchedBoxes = new List<Tensor>();
        foreach (var gt in gtInstances)
        {
            var gtBoxes = gt.Get<Boxes>("gt_boxes");
            using var iou = Boxes.PairwiseIou(gtBoxes, anchors);
            var (matchedIdxs, matchLabels) = _anchorMatcher.Match(iou);
            var label = matchLabels.to(int64);
            var (positive, negative) = Sampling.SubsampleLabels(label, _batchSizePerImage, _positiveFraction, bgLabel: 0);
            label = full_like(label, MinusOne);
            label.index_fill_(0, positive, One);
            label.index_fill_(0, negative, Zero);
            labels.Add(label);
            matchedBoxes.Add(gtBoxes.Length == 0 ? zeros_like(anchors.Tensor) : gtBoxes.Tensor[matchedIdxs]);
        }
        return (labels, matchedBoxes);
    }

    private Dictionary<string, Tensor> Losses(IReadOnlyList<Tensor> anchorsPerLevel, IReadOnlyList<Tensor> logits, IReadOnlyList<Tensor> gtLabels,
        IReadOnlyList<Tensor> deltas, IReadOnlyList<Tensor> gtBoxes)
    {
        var numImages = gtLabels.Count;
        var labels = stack(gtLabels.ToArray()); // (N, R)
        var positiveMask = labels.eq(One);
        LastAnchorCounts = (positiveMask.sum().item<long>() / (double)numImages, labels.eq(Zero).sum().item<long>() / (double)numImages);

        var anchors = cat(anchorsPerLevel.ToArray(), 0);
        var gtDeltas = stack(gtBoxes.Select(b => _box2BoxTransform.GetDeltas(anchors, b)).ToArray()); // (N, R, 4)
        var predDeltas = cat(deltas.ToArray(), 1);
        var localization = SmoothL1Loss.Sum(predDeltas[positiveMask], gtDeltas[positiveMask], _smoothL1Beta);

        var valid = labels.ge(Zero);
        var objectness = nn.functional.binary_cross_entropy_with_logits(
            cat(logits.ToArray(), 1)[valid], labels[valid].to(float32), reduction: nn.Reduction.Sum);
        // Detectron2 normalises by the sampling budget, not by the number of anchors actually sampled.
        using Scalar normalizer = (double)_batchSizePerImage * numImages, clsWeight = _lossWeight, locWeight = _boxRegLossWeight * _lossWeight;
        return new()
        {
            ["loss_rpn_cls"] = objectness.div(normalizer).mul(clsWeight),
            ["loss_rpn_loc"] = localization.div(normalizer).mul(locWeight),
        };
    }

    /// <returns>per level, (N, Hi*Wi*A, 4) boxes decoded from the deltas</returns>
    private List<Tensor> DecodeProposals(IReadOnlyList<Tensor> anchorsPerLevel, IReadOnlyList<Tensor> deltas)
    {
        var n = deltas[0].shape[0];
        var proposals = new List<Tensor>();
        for (var level = 0; level < anchorsPerLevel.Count; level++)
        {
            var d = deltas[level].detach().reshape(-1, 4);
            var a = anchorsPerLevel[level].unsqueeze(0).expand(n, -1, -1).reshape(-1, 4);
            proposals.Add(_box2BoxTransform.ApplyDeltas(d, a).view(n, -1, 4));
        }
        return proposals;
    }
}
