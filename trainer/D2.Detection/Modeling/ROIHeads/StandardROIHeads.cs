using TorchSharp.Utils;
using D2.Detection.Config;
using D2.Detection.Modeling.Backbone;
using D2.Detection.Structures;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ROIHeads;

/// <summary>
/// Detectron2's StandardROIHeads: in training, append the ground truth to the proposals, label them with the proposal
/// matcher and sample a fixed budget per image (foreground first; background is class K), then the box head losses
/// and, with masks on, the mask loss on the foreground samples. In inference, box predictions then masks on the final
/// boxes. State-dict names: <c>box_head.*</c>, <c>box_predictor.*</c>, <c>mask_head.*</c>. Registered as
/// "StandardROIHeads" (MODEL.ROI_HEADS.NAME); its box and mask heads come from MODEL.ROI_BOX_HEAD.NAME and
/// MODEL.ROI_MASK_HEAD.NAME.
/// </summary>
public sealed class StandardROIHeads : ROIHeads
{
    private readonly string[] _boxInFeatures;
    [ComponentName(Name = "box_pooler")]
    private readonly ROIPooler _boxPooler;
    [ComponentName(Name = "box_head")]
    private readonly ROIBoxHead _boxHead;
    [ComponentName(Name = "box_predictor")]
    private readonly FastRCNNOutputLayers _boxPredictor;
    private readonly string[] _maskInFeatures;
    [ComponentName(Name = "mask_pooler")]
    private readonly ROIPooler? _maskPooler;
    [ComponentName(Name = "mask_head")]
    private readonly nn.Module<Tensor, Tensor>? _maskHead;

    /// <param name="maskHead">pooled mask features (R, C, S, S) to mask logits (R, K or 1, M, M); null with masks off</param>
    public StandardROIHeads(int numClasses, int batchSizePerImage, double positiveFraction, Matcher proposalMatcher, bool proposalAppendGt,
        IReadOnlyList<string> boxInFeatures, ROIPooler boxPooler, ROIBoxHead boxHead, FastRCNNOutputLayers boxPredictor,
        IReadOnlyList<string>? maskInFeatures = null, ROIPooler? maskPooler = null, nn.Module<Tensor, Tensor>? maskHead = null)
        : base(nameof(StandardROIHeads), numClasses, batchSizePerImage, positiveFraction, proposalMatcher, proposalAppendGt)
    {
        if ((maskPooler is null) != (maskHead is null))
            throw new ArgumentException("The mask pooler and the mask head come together (MODEL.MASK_ON).");
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

    /// <summary>
    /// Detectron2's StandardROIHeads.from_config: MODEL.ROI_HEADS.*, the poolers of MODEL.ROI_BOX_HEAD.POOLER_* and
    /// MODEL.ROI_MASK_HEAD.POOLER_*, the box head MODEL.ROI_BOX_HEAD.NAME names, the box predictor, and with MODEL.MASK_ON
    /// the mask head MODEL.ROI_MASK_HEAD.NAME names.
    /// </summary>
    /// <param name="inputShape">the backbone's outputs by name</param>
    public static StandardROIHeads FromConfig(CfgNode cfg, IReadOnlyDictionary<string, ShapeSpec> inputShape)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var inFeatures = cfg.Get<string[]>("MODEL.ROI_HEADS.IN_FEATURES");
        var shapes = ShapeSpec.Select(inputShape, inFeatures, "MODEL.ROI_HEADS.IN_FEATURES");
        if (shapes.Select(s => s.Channels).Distinct().Count() != 1)
            throw new ConfigException("MODEL.ROI_HEADS.IN_FEATURES must all have the same number of channels.") { Key = "MODEL.ROI_HEADS.IN_FEATURES" };
        var channels = shapes[0].Channels;
        var scales = shapes.Select(s => 1.0 / s.Stride).ToArray();

        var boxResolution = cfg.Get<int>("MODEL.ROI_BOX_HEAD.POOLER_RESOLUTION");
        var boxPooler = new ROIPooler(boxResolution, scales, cfg.Get<int>("MODEL.ROI_BOX_HEAD.POOLER_SAMPLING_RATIO"), cfg.Get<string>("MODEL.ROI_BOX_HEAD.POOLER_TYPE"));
        var boxHead = ModelBuilder.ROIBoxHeadRegistry[cfg.Get<string>("MODEL.ROI_BOX_HEAD.NAME")](
            cfg, new ShapeSpec(channels, Height: boxResolution, Width: boxResolution));
        var boxPredictor = FastRCNNOutputLayers.FromConfig(cfg, boxHead.OutputSize);

        ROIPooler? maskPooler = null;
        nn.Module<Tensor, Tensor>? maskHead = null;
        if (cfg.Get<bool>("MODEL.MASK_ON"))
        {
            var maskResolution = cfg.Get<int>("MODEL.ROI_MASK_HEAD.POOLER_RESOLUTION");
            maskPooler = new ROIPooler(maskResolution, scales,
                cfg.Get<int>("MODEL.ROI_MASK_HEAD.POOLER_SAMPLING_RATIO"), cfg.Get<string>("MODEL.ROI_MASK_HEAD.POOLER_TYPE"));
            maskHead = ModelBuilder.ROIMaskHeadRegistry[cfg.Get<string>("MODEL.ROI_MASK_HEAD.NAME")](
                cfg, new ShapeSpec(channels, Height: maskResolution, Width: maskResolution));
        }
        return new StandardROIHeads(cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES"), cfg.Get<int>("MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE"),
            cfg.Get<double>("MODEL.ROI_HEADS.POSITIVE_FRACTION"),
            new Matcher(cfg.Get<double[]>("MODEL.ROI_HEADS.IOU_THRESHOLDS"), cfg.Get<int[]>("MODEL.ROI_HEADS.IOU_LABELS"), allowLowQualityMatches: false),
            cfg.Get<bool>("MODEL.ROI_HEADS.PROPOSAL_APPEND_GT"), inFeatures, boxPooler, boxHead, boxPredictor, inFeatures, maskPooler, maskHead);
    }

    public bool MaskOn => _maskHead is not null;
    public FastRCNNOutputLayers BoxPredictor => _boxPredictor;

    /// <summary>Mask statistics (mask_rcnn/accuracy, false_positive, false_negative) of the last training forward.</summary>
    public IReadOnlyDictionary<string, double> LastMaskStatistics { get; private set; } = new Dictionary<string, double>();

    /// <summary>The sample counts, then fast_rcnn/* of the box predictor and, with masks on, mask_rcnn/*, in Detectron2's order.</summary>
    public override IReadOnlyList<KeyValuePair<string, double>> TrainingStatistics =>
        [.. base.TrainingStatistics, .. _boxPredictor.LastStatistics, .. MaskOn ? LastMaskStatistics : Enumerable.Empty<KeyValuePair<string, double>>()];

    public override (List<Instances> Instances, Dictionary<string, Tensor> Losses) Forward(ImageList images, IReadOnlyDictionary<string, Tensor> features,
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

    private Dictionary<string, Tensor> ForwardBoxTraining(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances> proposals)
    {
        var boxFeatures = _boxPooler.forward(_boxInFeatures.Select(f => features[f]).ToList(), proposals.Select(p => p.Get<Boxes>("proposal_boxes").Tensor).ToList());
        var predictions = _boxPredictor.forward(_boxHead.forward(boxFeatures));
        return _boxPredictor.Losses(predictions, proposals);
    }

    private List<Instances> ForwardBoxInference(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances> proposals, InferenceTrace? trace)
    {
        var levels = _boxInFeatures.Select(f => features[f]).ToList();
        var boxes = proposals.Select(p => p.Get<Boxes>("proposal_boxes").Tensor).ToList();
        (Tensor, Tensor) predictions;
        // On the CPU, image by image in chunks of proposals, as the mask head (ForwardMaskInference): Detectron2's 1000
        // proposals of 256 channels pool to 50 MB per image, above glibc's mmap threshold.
        if (levels[0].device_type == TorchSharp.DeviceType.CPU && boxes.Any(b => b.shape[0] > 0))
        {
            var rows = BoxChunkRows ?? (int)Math.Max(1, ChunkBytes / (levels[0].shape[1] * _boxPooler.OutputSize * _boxPooler.OutputSize * sizeof(float)));
            var chunks = new List<(Tensor Scores, Tensor Deltas)>();
            for (var i = 0; i < boxes.Count; i++)
            {
                var image = levels.Select(l => l.narrow(0, i, 1)).ToList();
                for (long start = 0; start < boxes[i].shape[0]; start += rows)
                    chunks.Add(PredictBoxes(image, boxes[i].narrow(0, start, Math.Min(rows, boxes[i].shape[0] - start))));
            }
            predictions = (cat(chunks.Select(c => c.Scores).ToList(), 0), cat(chunks.Select(c => c.Deltas).ToList(), 0));
        }
        else
        {
            predictions = PredictBoxes(levels, boxes);
        }
        using var stage = StageProfile.Measure("box_head.inference");
        return _boxPredictor.Inference(predictions, proposals, trace);
    }

    /// <param name="boxes">one (R, 4) tensor per image of <paramref name="levels"/></param>
    private (Tensor Scores, Tensor Deltas) PredictBoxes(IReadOnlyList<Tensor> levels, params IReadOnlyList<Tensor> boxes)
    {
        // Each chunk's pooled features are freed before the next chunk pools, so the heap reuses one chunk's blocks.
        using var scope = NewDisposeScope();
        Tensor boxFeatures;
        using (StageProfile.Measure("box_head.pooler"))
            boxFeatures = _boxPooler.forward(levels, boxes);
        using (StageProfile.Measure("box_head.layers"))
        {
            var (scores, deltas) = _boxPredictor.forward(_boxHead.forward(boxFeatures));
            return (scores.MoveToOuterDisposeScope(), deltas.MoveToOuterDisposeScope());
        }
    }

    private Dictionary<string, Tensor> ForwardMaskTraining(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances> proposals)
    {
        // Only foreground proposals (a class in [0, K)) train the mask head.
        using var numClasses = NumClasses.ToScalar();
        var foreground = proposals.Select(p =>
        {
            var classes = p.Get<Tensor>("gt_classes");
            return p.Index(nonzero(classes.ge(Zero).logical_and(classes.ne(numClasses))).flatten());
        }).ToList();
        var maskFeatures = _maskPooler!.forward(_maskInFeatures.Select(f => features[f]).ToList(), foreground.Select(p => p.Get<Boxes>("proposal_boxes").Tensor).ToList());
        var logits = _maskHead!.forward(maskFeatures);
        var (loss, statistics) = MaskRCNNLoss.Compute(logits, foreground);
        LastMaskStatistics = statistics;
        return new() { ["loss_mask"] = loss };
    }

    private void ForwardMaskInference(IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances> instances)
    {
        var levels = _maskInFeatures.Select(f => features[f]).ToList();
        if (levels[0].device_type != TorchSharp.DeviceType.CPU)
        {
            ForwardMaskInference(levels, instances);
            return;
        }
        // On the CPU, image by image and in chunks of ROIs whose largest activation stays under ChunkBytes: glibc
        // maps every block above its mmap threshold (32 MiB at most) afresh and faults it in page by page on each pass, and
        // a batch's whole mask head at once (8 images x 100 detections: an 80 MiB deconv output even at 32 channels) ran
        // 6-24x slower per image than one image alone (README, serving section). Each image's mask head then also sees the
        // shapes it sees when the image runs alone. A GPU keeps Detectron2's one pass over the batch.
        var chunkRows = MaskChunkRows ?? RowsUnder(ChunkBytes, levels[0].shape[1]);
        for (var i = 0; i < instances.Count; i++)
            ForwardMaskInference(levels.Select(l => l.narrow(0, i, 1)).ToList(), [instances[i]], chunkRows);
    }

    /// <summary>The activation budget of one box- or mask-head chunk on the CPU: well under glibc's largest mmap threshold (32 MiB).</summary>
    internal const long ChunkBytes = 16L << 20;

    /// <summary>ROIs per mask-head pass on the CPU; null: as many as keep the largest activation under <see cref="ChunkBytes"/> (tests set it).</summary>
    internal int? MaskChunkRows { get; set; }

    /// <summary>Proposals per box-head pass on the CPU; null: as many as keep the pooled features under <see cref="ChunkBytes"/> (tests set it).</summary>
    internal int? BoxChunkRows { get; set; }

    // The largest activation of one ROI in the mask head: its widest layer at the upsampled size (2 x the pooled size, as
    // Detectron2's conv-upsample head has), or the pooled features' channels for another head.
    private int RowsUnder(long bytes, long pooledChannels)
    {
        var channels = _maskHead is MaskRCNNConvUpsampleHead head ? Math.Max(head.WidestChannels, pooledChannels) : pooledChannels;
        var side = 2L * _maskPooler!.OutputSize;
        return (int)Math.Max(1, bytes / (channels * side * side * sizeof(float)));
    }

    /// <param name="levels">the mask pooler's feature maps of these images</param>
    /// <param name="chunkRows">ROIs per mask-head pass; all at once when null</param>
    private void ForwardMaskInference(IReadOnlyList<Tensor> levels, IReadOnlyList<Instances> instances, int? chunkRows = null)
    {
        using var scope = NewDisposeScope();
        Tensor maskFeatures, logits;
        using (StageProfile.Measure("mask_head.pooler"))
            maskFeatures = _maskPooler!.forward(levels, instances.Select(p => p.Get<Boxes>("pred_boxes").Tensor).ToList());
        using (StageProfile.Measure("mask_head.layers"))
        {
            var rows = maskFeatures.shape[0];
            logits = chunkRows is not { } chunk || rows <= chunk
                ? _maskHead!.forward(maskFeatures)
                : cat(Enumerable.Range(0, (int)((rows + chunk - 1) / chunk))
                    .Select(k => _maskHead!.forward(maskFeatures.narrow(0, k * (long)chunk, Math.Min(chunk, rows - k * (long)chunk)))).ToList(), 0);
        }
        using var stage = StageProfile.Measure("mask_head.inference");
        MaskRCNNInference.Apply(logits, instances);
        foreach (var instance in instances)
            if (instance.Has("pred_masks"))
                instance.Get<Tensor>("pred_masks").MoveToOuterDisposeScope();
    }
}
