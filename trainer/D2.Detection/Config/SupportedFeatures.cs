using System.Text.RegularExpressions;

namespace D2.Detection.Config;

/// <summary>
/// What this port implements of Detectron2's config. Every Detectron2 key loads, but a feature that is not
/// implemented yet must keep its default: a config that turns it on fails here, naming the key, the value
/// and the feature, instead of training something other than what it asks for. For prediction
/// (<see cref="ConfigPurpose.Inference"/>) only what changes DefaultPredictor's output is checked: a model trained by
/// Detectron2 with AMP, random crops or SyncBN predicts like any other, so its dumped config must load.
/// </summary>
internal static partial class SupportedFeatures
{
    private static readonly string[] Norms = ["", "FrozenBN", "BN", "GN"];

    private const string OtherNorms = "other norms; synchronized BatchNorm needs torch.distributed, which TorchSharp lacks";

    /// <summary>Keys (or whole groups) that must hold their Detectron2 default, and the feature they belong to.</summary>
    /// <summary>
    /// Keys of <see cref="DefaultOnly"/> and <see cref="Choices"/> that DefaultPredictor never reads: training, data
    /// loading and evaluation settings, and the settings of heads that other (still checked) keys leave unbuilt
    /// (RetinaNet, semantic/panoptic heads, Cascade and keypoint heads). TEST.AUG drives GeneralizedRCNNWithTTA, which
    /// DefaultPredictor does not use.
    /// </summary>
    private static readonly HashSet<string> NotReadByPredictor = new(StringComparer.Ordinal)
    {
        "MODEL.ROI_KEYPOINT_HEAD", "TEST.KEYPOINT_OKS_SIGMAS",
        "DATASETS.PROPOSAL_FILES_TRAIN", "DATASETS.PROPOSAL_FILES_TEST",
        "DATASETS.PRECOMPUTED_PROPOSAL_TOPK_TRAIN", "DATASETS.PRECOMPUTED_PROPOSAL_TOPK_TEST",
        "MODEL.RETINANET", "MODEL.SEM_SEG_HEAD", "MODEL.PANOPTIC_FPN", "MODEL.ROI_BOX_CASCADE_HEAD",
        "MODEL.ROI_BOX_HEAD.TRAIN_ON_PRED_BOXES", "MODEL.ROI_BOX_HEAD.USE_FED_LOSS",
        "INPUT.CROP", "SOLVER.AMP", "SOLVER.REFERENCE_WORLD_SIZE", "TEST.AUG", "TEST.PRECISE_BN", "TEST.EXPECTED_RESULTS", "VIS_PERIOD",
        "MODEL.RPN.BBOX_REG_LOSS_TYPE", "MODEL.ROI_BOX_HEAD.BBOX_REG_LOSS_TYPE",
        "INPUT.MASK_FORMAT", "INPUT.RANDOM_FLIP", "INPUT.MIN_SIZE_TRAIN_SAMPLING", "DATALOADER.SAMPLER_TRAIN",
        "SOLVER.LR_SCHEDULER_NAME", "SOLVER.WARMUP_METHOD", "SOLVER.CLIP_GRADIENTS.CLIP_TYPE",
    };

    /// <summary>Norms that are BatchNorm in eval mode: synchronisation only changes how training computes batch statistics.</summary>
    private static readonly string[] InferenceNorms = [.. Norms, "SyncBN", "naiveSyncBN", "nnSyncBN"];

    private static readonly HashSet<string> NormKeys = new(StringComparer.Ordinal)
    {
        "MODEL.RESNETS.NORM", "MODEL.FPN.NORM", "MODEL.ROI_BOX_HEAD.NORM", "MODEL.ROI_MASK_HEAD.NORM",
    };

    private static readonly (string Key, string Feature)[] DefaultOnly =
    [
        ("MODEL.KEYPOINT_ON", "keypoint detection"),
        ("MODEL.ROI_KEYPOINT_HEAD", "keypoint detection"),
        ("TEST.KEYPOINT_OKS_SIGMAS", "keypoint evaluation"),
        ("MODEL.LOAD_PROPOSALS", "precomputed proposals (Fast R-CNN)"),
        ("DATASETS.PROPOSAL_FILES_TRAIN", "precomputed proposals (Fast R-CNN)"),
        ("DATASETS.PROPOSAL_FILES_TEST", "precomputed proposals (Fast R-CNN)"),
        ("DATASETS.PRECOMPUTED_PROPOSAL_TOPK_TRAIN", "precomputed proposals (Fast R-CNN)"),
        ("DATASETS.PRECOMPUTED_PROPOSAL_TOPK_TEST", "precomputed proposals (Fast R-CNN)"),
        ("MODEL.RETINANET", "RetinaNet"),
        ("MODEL.SEM_SEG_HEAD", "semantic segmentation"),
        ("MODEL.PANOPTIC_FPN", "panoptic segmentation (Panoptic FPN)"),
        ("MODEL.ROI_BOX_CASCADE_HEAD", "Cascade R-CNN"),
        ("MODEL.ROI_BOX_HEAD.TRAIN_ON_PRED_BOXES", "training the box head on predicted boxes"),
        ("MODEL.ROI_BOX_HEAD.USE_FED_LOSS", "the federated loss (LVIS)"),
        ("MODEL.ROI_BOX_HEAD.USE_SIGMOID_CE", "sigmoid cross-entropy box classification"),
        ("MODEL.ANCHOR_GENERATOR.ANGLES", "rotated anchors"),
        ("MODEL.RESNETS.DEFORM_ON_PER_STAGE", "deformable convolutions"),
        ("MODEL.RESNETS.DEFORM_MODULATED", "deformable convolutions"),
        ("MODEL.RESNETS.DEFORM_NUM_GROUPS", "deformable convolutions"),
        ("INPUT.CROP", "random crop augmentation"),
        ("SOLVER.AMP", "mixed-precision training (AMP; TorchSharp 0.107 has no autocast or GradScaler, so the forward cannot run in fp16/bf16 with fp32 master weights)"),
        ("TEST.AUG", "test-time augmentation"),
        ("TEST.PRECISE_BN", "precise BatchNorm statistics"),
        ("TEST.EXPECTED_RESULTS", "checking results against expected metrics"),
        ("VIS_PERIOD", "training-time visualisation"),
    ];

    /// <summary>Keys whose value picks an implementation, the names supported, and what the others are.</summary>
    private static readonly (string Key, string[] Supported, string Feature)[] Choices =
    [
        ("MODEL.META_ARCHITECTURE", ["GeneralizedRCNN"], "meta-architectures other than GeneralizedRCNN (Faster/Mask R-CNN), e.g. RetinaNet, PanopticFPN, ProposalNetwork"),
        ("MODEL.BACKBONE.NAME", ["build_resnet_backbone", "build_resnet_fpn_backbone"], "backbones other than ResNet and ResNet-FPN"),
        ("MODEL.PROPOSAL_GENERATOR.NAME", ["RPN"], "proposal generators other than RPN (e.g. RRPN, PrecomputedProposals)"),
        ("MODEL.ANCHOR_GENERATOR.NAME", ["DefaultAnchorGenerator"], "anchor generators other than DefaultAnchorGenerator (e.g. rotated anchors)"),
        ("MODEL.RPN.HEAD_NAME", ["StandardRPNHead"], "RPN heads other than StandardRPNHead"),
        ("MODEL.ROI_HEADS.NAME", ["StandardROIHeads", "Res5ROIHeads"], "ROI heads other than StandardROIHeads and Res5ROIHeads (e.g. Cascade R-CNN, rotated boxes)"),
        ("MODEL.ROI_BOX_HEAD.NAME", ["FastRCNNConvFCHead", ""], "box heads other than FastRCNNConvFCHead"),
        ("MODEL.ROI_MASK_HEAD.NAME", ["MaskRCNNConvUpsampleHead"], "mask heads other than MaskRCNNConvUpsampleHead (e.g. PointRend)"),
        ("MODEL.RESNETS.NORM", Norms, OtherNorms),
        ("MODEL.FPN.NORM", Norms, OtherNorms),
        ("MODEL.ROI_BOX_HEAD.NORM", Norms, OtherNorms),
        ("MODEL.ROI_MASK_HEAD.NORM", Norms, OtherNorms),
        ("MODEL.FPN.FUSE_TYPE", ["sum", "avg"], "other FPN fusions"),
        ("MODEL.RPN.BBOX_REG_LOSS_TYPE", ["smooth_l1"], "IoU-based box regression losses (giou, diou, ciou)"),
        ("MODEL.ROI_BOX_HEAD.BBOX_REG_LOSS_TYPE", ["smooth_l1"], "IoU-based box regression losses (giou, diou, ciou)"),
        ("MODEL.ROI_BOX_HEAD.POOLER_TYPE", ["ROIAlignV2", "ROIAlign"], "ROI poolers other than ROIAlign/ROIAlignV2 (ROIPool, ROIAlignRotated)"),
        ("MODEL.ROI_MASK_HEAD.POOLER_TYPE", ["ROIAlignV2", "ROIAlign"], "ROI poolers other than ROIAlign/ROIAlignV2 (ROIPool, ROIAlignRotated)"),
        ("INPUT.FORMAT", ["BGR", "RGB"], "input formats other than BGR and RGB"),
        ("INPUT.MASK_FORMAT", ["polygon", "bitmask"], "other mask formats"),
        ("INPUT.RANDOM_FLIP", ["horizontal", "vertical", "none"], "other flip modes"),
        ("INPUT.MIN_SIZE_TRAIN_SAMPLING", ["choice", "range"], "other resize samplings"),
        ("DATALOADER.SAMPLER_TRAIN", ["TrainingSampler", "RepeatFactorTrainingSampler"], "other training samplers"),
        ("SOLVER.LR_SCHEDULER_NAME", ["WarmupMultiStepLR", "WarmupCosineLR", "WarmupStepWithFixedGammaLR"], "other LR schedules"),
        ("SOLVER.WARMUP_METHOD", ["linear", "constant"], "other warmup methods"),
        ("SOLVER.CLIP_GRADIENTS.CLIP_TYPE", ["value", "norm", "full_model"], "other gradient clipping types"),
    ];

    /// <summary>Adds one line per unsupported setting of <paramref name="cfg"/> to <paramref name="problems"/>.</summary>
    public static void Check(CfgNode cfg, List<(string Key, string Message)> problems, ConfigPurpose purpose = ConfigPurpose.Training)
    {
        var inference = purpose == ConfigPurpose.Inference;
        foreach (var (key, feature) in DefaultOnly)
        {
            if ((inference && NotReadByPredictor.Contains(key)) || !cfg.ContainsKey(key) || !DefaultConfig.TryGetDefault(key, out var defaultValue))
            {
                continue;
            }

            foreach (var (leafKey, value, expected) in Compare(key, cfg[key], defaultValue))
            {
                if (!ConfigValues.ValueEquals(value, expected))
                {
                    problems.Add((leafKey, $"{leafKey} = {PythonRepr.Format(value)}: {feature} is not supported yet; "
                        + $"keep the default {PythonRepr.Format(expected)}."));
                }
            }
        }

        foreach (var (key, choices, feature) in Choices)
        {
            if (inference && NotReadByPredictor.Contains(key))
            {
                continue;
            }

            var supported = inference && NormKeys.Contains(key) ? InferenceNorms : choices;
            // A part registered from outside the library (Modeling.ModelBuilder's registries) is supported too.
            if (Modeling.ModelBuilder.RegisteredNames(key) is { } registered)
            {
                supported = [.. supported.Union(registered, StringComparer.Ordinal)];
            }

            if (cfg.ContainsKey(key) && cfg[key] is string value && !supported.Contains(value, StringComparer.Ordinal))
            {
                problems.Add((key, $"{key} = {PythonRepr.Format(value)}: not supported yet ({feature}); "
                    + $"supported: {string.Join(", ", supported.Select(PythonRepr.Format))}."));
            }
        }

        if (cfg.ContainsKey("MODEL.DEVICE") && cfg["MODEL.DEVICE"] is string device && !DevicePattern().IsMatch(device))
        {
            problems.Add(("MODEL.DEVICE", $"MODEL.DEVICE = {PythonRepr.Format(device)}: only 'cpu', 'cuda' and 'cuda:N' are supported."));
        }
    }

    /// <summary>Leaf-by-leaf pairs (key, value, default) under a key that may be a group.</summary>
    private static IEnumerable<(string Key, object? Value, object? Default)> Compare(string key, object? value, object? defaultValue)
    {
        if (value is CfgNode group && defaultValue is CfgNode defaults)
        {
            var expected = defaults.Leaves().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            foreach (var (leafKey, leafValue) in group.Leaves())
            {
                if (expected.TryGetValue(leafKey, out var leafDefault))
                {
                    yield return (leafKey, leafValue, leafDefault);
                }
            }
        }
        else
        {
            yield return (key, value, defaultValue);
        }
    }

    [GeneratedRegex(@"^(?:cpu|cuda(?::[0-9]+)?)$")]
    private static partial Regex DevicePattern();
}
