using TorchSharp;
using D2.Detection.Config;
using D2.Detection.Modeling.Backbone;
using D2.Detection.Modeling.ProposalGenerator;
using D2.Detection.Modeling.RoiHeads;

namespace D2.Detection.Modeling;

/// <summary>
/// Detectron2's build_model: each swappable part is looked up by the name its config key holds
/// (MODEL.META_ARCHITECTURE, MODEL.BACKBONE.NAME, MODEL.PROPOSAL_GENERATOR.NAME, MODEL.ROI_HEADS.NAME), and its
/// constructor arguments are read from the config. Register another factory to add a part without editing this file.
/// </summary>
public static class ModelBuilder
{
    public static readonly Registry<Func<CfgNode, Backbone.Backbone>> Backbones = new("MODEL.BACKBONE.NAME")
    {
        ["build_resnet_backbone"] = BuildResNet,
        ["build_resnet_fpn_backbone"] = BuildResNetFpn,
    };

    public static readonly Registry<Func<CfgNode, Backbone.Backbone, RPN>> ProposalGenerators = new("MODEL.PROPOSAL_GENERATOR.NAME")
    {
        ["RPN"] = BuildRpn,
    };

    public static readonly Registry<Func<CfgNode, Backbone.Backbone, StandardROIHeads>> RoiHeads = new("MODEL.ROI_HEADS.NAME")
    {
        ["StandardROIHeads"] = BuildStandardRoiHeads,
    };

    /// <summary>Builds the model a resolved config describes, on CPU; move it with <c>to(TorchRuntime.ResolveDevice(MODEL.DEVICE))</c>.</summary>
    public static GeneralizedRCNN Build(CfgNode cfg)
    {
        var architecture = cfg.Get<string>("MODEL.META_ARCHITECTURE");
        if (architecture != "GeneralizedRCNN")
            throw new ConfigException($"MODEL.META_ARCHITECTURE '{architecture}' is not supported; use GeneralizedRCNN.");
        var backbone = Backbones[cfg.Get<string>("MODEL.BACKBONE.NAME")](cfg);
        var proposalGenerator = ProposalGenerators[cfg.Get<string>("MODEL.PROPOSAL_GENERATOR.NAME")](cfg, backbone);
        var roiHeads = RoiHeads[cfg.Get<string>("MODEL.ROI_HEADS.NAME")](cfg, backbone);
        return new GeneralizedRCNN(backbone, proposalGenerator, roiHeads, cfg.Get<double[]>("MODEL.PIXEL_MEAN"), cfg.Get<double[]>("MODEL.PIXEL_STD"));
    }

    /// <summary>
    /// Builds the model and moves it to MODEL.DEVICE, the one key that picks CPU or CUDA (Detectron2's default is "cuda";
    /// a CPU-only build fails here with a message that says how to switch).
    /// </summary>
    public static GeneralizedRCNN BuildOnDevice(CfgNode cfg)
    {
        var device = TorchRuntime.ResolveDevice(cfg.Get<string>("MODEL.DEVICE"));
        var model = Build(cfg);
        model.to(device);
        return model;
    }

    public static ResNet BuildResNet(CfgNode cfg) => ResNet.Build(
        depth: cfg.Get<int>("MODEL.RESNETS.DEPTH"),
        outFeatures: cfg.Get<string[]>("MODEL.RESNETS.OUT_FEATURES"),
        norm: cfg.Get<string>("MODEL.RESNETS.NORM"),
        freezeAt: cfg.Get<int>("MODEL.BACKBONE.FREEZE_AT"),
        stemOutChannels: cfg.Get<long>("MODEL.RESNETS.STEM_OUT_CHANNELS"),
        res2OutChannels: cfg.Get<long>("MODEL.RESNETS.RES2_OUT_CHANNELS"),
        numGroups: cfg.Get<long>("MODEL.RESNETS.NUM_GROUPS"),
        widthPerGroup: cfg.Get<long>("MODEL.RESNETS.WIDTH_PER_GROUP"),
        strideIn1x1: cfg.Get<bool>("MODEL.RESNETS.STRIDE_IN_1X1"),
        res5Dilation: cfg.Get<long>("MODEL.RESNETS.RES5_DILATION"),
        inChannels: cfg.Get<double[]>("MODEL.PIXEL_MEAN").Length);

    public static FPN BuildResNetFpn(CfgNode cfg) => new(
        BuildResNet(cfg),
        cfg.Get<string[]>("MODEL.FPN.IN_FEATURES"),
        cfg.Get<long>("MODEL.FPN.OUT_CHANNELS"),
        cfg.Get<string>("MODEL.FPN.NORM"),
        new LastLevelMaxPool(),
        cfg.Get<string>("MODEL.FPN.FUSE_TYPE"));

    public static RPN BuildRpn(CfgNode cfg, Backbone.Backbone backbone)
    {
        var inFeatures = cfg.Get<string[]>("MODEL.RPN.IN_FEATURES");
        var shapes = Shapes(backbone, inFeatures, "MODEL.RPN.IN_FEATURES");
        if (shapes.Select(s => s.Channels).Distinct().Count() != 1)
            throw new ConfigException("MODEL.RPN.IN_FEATURES must all have the same number of channels (the RPN head is shared).");
        var anchorGenerator = new DefaultAnchorGenerator(
            cfg.Get<double[][]>("MODEL.ANCHOR_GENERATOR.SIZES"),
            cfg.Get<double[][]>("MODEL.ANCHOR_GENERATOR.ASPECT_RATIOS"),
            shapes.Select(s => s.Stride).ToArray(),
            cfg.Get<double>("MODEL.ANCHOR_GENERATOR.OFFSET"));
        var numAnchors = anchorGenerator.NumCellAnchors.Distinct().ToArray();
        if (numAnchors.Length != 1)
            throw new ConfigException("Every feature level must have the same number of anchors per location (the RPN head is shared).");
        var convDims = cfg.Get<long[]>("MODEL.RPN.CONV_DIMS");
        if (convDims is not [-1])
            throw new ConfigException($"MODEL.RPN.CONV_DIMS [{string.Join(", ", convDims)}] is not supported; use [-1] (one conv as wide as its input).");
        var weights = cfg.Get<double[]>("MODEL.RPN.BBOX_REG_WEIGHTS");
        return new RPN(inFeatures,
            new StandardRPNHead(shapes[0].Channels, numAnchors[0]),
            anchorGenerator,
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

    public static StandardROIHeads BuildStandardRoiHeads(CfgNode cfg, Backbone.Backbone backbone)
    {
        var inFeatures = cfg.Get<string[]>("MODEL.ROI_HEADS.IN_FEATURES");
        var shapes = Shapes(backbone, inFeatures, "MODEL.ROI_HEADS.IN_FEATURES");
        if (shapes.Select(s => s.Channels).Distinct().Count() != 1)
            throw new ConfigException("MODEL.ROI_HEADS.IN_FEATURES must all have the same number of channels.");
        var channels = shapes[0].Channels;
        var scales = shapes.Select(s => 1.0 / s.Stride).ToArray();
        var numClasses = cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES");

        var boxResolution = cfg.Get<int>("MODEL.ROI_BOX_HEAD.POOLER_RESOLUTION");
        var boxPooler = new ROIPooler(boxResolution, scales, cfg.Get<int>("MODEL.ROI_BOX_HEAD.POOLER_SAMPLING_RATIO"), cfg.Get<string>("MODEL.ROI_BOX_HEAD.POOLER_TYPE"));
        var boxHead = new FastRCNNConvFCHead((channels, boxResolution, boxResolution),
            Enumerable.Repeat(cfg.Get<long>("MODEL.ROI_BOX_HEAD.CONV_DIM"), cfg.Get<int>("MODEL.ROI_BOX_HEAD.NUM_CONV")).ToArray(),
            Enumerable.Repeat(cfg.Get<long>("MODEL.ROI_BOX_HEAD.FC_DIM"), cfg.Get<int>("MODEL.ROI_BOX_HEAD.NUM_FC")).ToArray(),
            cfg.Get<string>("MODEL.ROI_BOX_HEAD.NORM"));
        var weights = cfg.Get<double[]>("MODEL.ROI_BOX_HEAD.BBOX_REG_WEIGHTS");
        var boxPredictor = new FastRCNNOutputLayers(boxHead.OutputSize, numClasses, new Box2BoxTransform((weights[0], weights[1], weights[2], weights[3])),
            cfg.Get<bool>("MODEL.ROI_BOX_HEAD.CLS_AGNOSTIC_BBOX_REG"), cfg.Get<double>("MODEL.ROI_BOX_HEAD.SMOOTH_L1_BETA"),
            cfg.Get<double>("MODEL.ROI_HEADS.SCORE_THRESH_TEST"), cfg.Get<double>("MODEL.ROI_HEADS.NMS_THRESH_TEST"),
            cfg.Get<int>("TEST.DETECTIONS_PER_IMAGE"), boxRegLossWeight: cfg.Get<double>("MODEL.ROI_BOX_HEAD.BBOX_REG_LOSS_WEIGHT"));

        ROIPooler? maskPooler = null;
        MaskRCNNConvUpsampleHead? maskHead = null;
        if (cfg.Get<bool>("MODEL.MASK_ON"))
        {
            maskPooler = new ROIPooler(cfg.Get<int>("MODEL.ROI_MASK_HEAD.POOLER_RESOLUTION"), scales,
                cfg.Get<int>("MODEL.ROI_MASK_HEAD.POOLER_SAMPLING_RATIO"), cfg.Get<string>("MODEL.ROI_MASK_HEAD.POOLER_TYPE"));
            maskHead = MaskRCNNConvUpsampleHead.FromConfig(cfg, channels);
        }
        return new StandardROIHeads(numClasses, cfg.Get<int>("MODEL.ROI_HEADS.BATCH_SIZE_PER_IMAGE"), cfg.Get<double>("MODEL.ROI_HEADS.POSITIVE_FRACTION"),
            new Matcher(cfg.Get<double[]>("MODEL.ROI_HEADS.IOU_THRESHOLDS"), cfg.Get<int[]>("MODEL.ROI_HEADS.IOU_LABELS"), allowLowQualityMatches: false),
            cfg.Get<bool>("MODEL.ROI_HEADS.PROPOSAL_APPEND_GT"), inFeatures, boxPooler, boxHead, boxPredictor, inFeatures, maskPooler, maskHead);
    }

    private static List<ShapeSpec> Shapes(Backbone.Backbone backbone, IReadOnlyList<string> names, string key) =>
        names.Select(n => backbone.OutputShape.TryGetValue(n, out var shape)
            ? shape
            : throw new ConfigException($"{key} names '{n}', which the backbone does not output ({string.Join(", ", backbone.OutputShape.Keys)}).")).ToList();
}
