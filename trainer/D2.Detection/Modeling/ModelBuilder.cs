using TorchSharp;
using D2.Detection.Config;
using D2.Detection.Modeling.Backbone;
using D2.Detection.Modeling.ProposalGenerator;
using D2.Detection.Modeling.ROIHeads;
using static TorchSharp.torch;

namespace D2.Detection.Modeling;

/// <summary>
/// Detectron2's build_model and its registries. Each extension point is a <see cref="Registry{TFactory}"/> keyed by the name
/// its config key holds; a factory is the part's static <c>FromConfig</c> (Detectron2's <c>from_config</c>), which reads
/// its own keys and builds its own sub-parts through the registries below, so adding a part is one new file and one
/// <c>Register</c> call, with no edit here.
/// </summary>
/// <remarks>
/// The built-in parts are registered explicitly in this one file, not found by an attribute scan: every name a config can
/// use is listed in one place in a fixed order, nothing depends on which assemblies happen to be loaded, and trimming keeps
/// them. Code outside this library registers its own parts the same way before it builds a model, e.g.
/// <c>ModelBuilder.ROIHeadsRegistry.Register("MyROIHeads", MyROIHeads.FromConfig)</c> (a module initializer of the
/// assembly is a good place); an unknown name is a <see cref="ConfigException"/> naming the key, the value and the
/// registered names.
/// </remarks>
public static class ModelBuilder
{
    /// <summary>META_ARCH_REGISTRY: MODEL.META_ARCHITECTURE.</summary>
    public static readonly Registry<Func<CfgNode, GeneralizedRCNN>> MetaArchRegistry = new("MODEL.META_ARCHITECTURE")
    {
        { "GeneralizedRCNN", GeneralizedRCNN.FromConfig },
    };

    /// <summary>BACKBONE_REGISTRY: MODEL.BACKBONE.NAME; the factory gets the input image's channels.</summary>
    public static readonly Registry<Func<CfgNode, ShapeSpec, Backbone.Backbone>> BackboneRegistry = new("MODEL.BACKBONE.NAME")
    {
        { "build_resnet_backbone", ResNet.FromConfig },
        { "build_resnet_fpn_backbone", FPN.FromConfig },
    };

    /// <summary>PROPOSAL_GENERATOR_REGISTRY: MODEL.PROPOSAL_GENERATOR.NAME; the factory gets the backbone's output shapes.</summary>
    public static readonly Registry<Func<CfgNode, IReadOnlyDictionary<string, ShapeSpec>, ProposalGenerator.ProposalGenerator>> ProposalGeneratorRegistry =
        new("MODEL.PROPOSAL_GENERATOR.NAME")
        {
            { "RPN", RPN.FromConfig },
        };

    /// <summary>
    /// RPN_HEAD_REGISTRY: MODEL.RPN.HEAD_NAME; the factory gets the shapes of MODEL.RPN.IN_FEATURES and returns a module
    /// from per-level features to per-level objectness logits (N, A, H, W) and anchor deltas (N, A * 4, H, W).
    /// </summary>
    public static readonly Registry<Func<CfgNode, IReadOnlyList<ShapeSpec>, nn.Module<IReadOnlyList<Tensor>, (List<Tensor> ObjectnessLogits, List<Tensor> AnchorDeltas)>>> RPNHeadRegistry =
        new("MODEL.RPN.HEAD_NAME")
        {
            { "StandardRPNHead", StandardRPNHead.FromConfig },
        };

    /// <summary>ROI_HEADS_REGISTRY: MODEL.ROI_HEADS.NAME; the factory gets the backbone's output shapes.</summary>
    public static readonly Registry<Func<CfgNode, IReadOnlyDictionary<string, ShapeSpec>, ROIHeads.ROIHeads>> ROIHeadsRegistry = new("MODEL.ROI_HEADS.NAME")
    {
        { "StandardROIHeads", StandardROIHeads.FromConfig },
    };

    /// <summary>ROI_BOX_HEAD_REGISTRY: MODEL.ROI_BOX_HEAD.NAME; the factory gets the pooled features' channels, height and width.</summary>
    public static readonly Registry<Func<CfgNode, ShapeSpec, ROIBoxHead>> ROIBoxHeadRegistry = new("MODEL.ROI_BOX_HEAD.NAME")
    {
        { "FastRCNNConvFCHead", FastRCNNConvFCHead.FromConfig },
    };

    /// <summary>
    /// ROI_MASK_HEAD_REGISTRY: MODEL.ROI_MASK_HEAD.NAME; the factory gets the pooled features' channels, height and width
    /// and returns a module from them to mask logits (R, K or 1, M, M).
    /// </summary>
    public static readonly Registry<Func<CfgNode, ShapeSpec, nn.Module<Tensor, Tensor>>> ROIMaskHeadRegistry = new("MODEL.ROI_MASK_HEAD.NAME")
    {
        { "MaskRCNNConvUpsampleHead", MaskRCNNConvUpsampleHead.FromConfig },
    };

    /// <summary>The registry whose names a config key selects, for the keys that have one (config validation reads it).</summary>
    public static IReadOnlyCollection<string>? RegisteredNames(string configKey) => configKey switch
    {
        "MODEL.META_ARCHITECTURE" => MetaArchRegistry.Names,
        "MODEL.BACKBONE.NAME" => BackboneRegistry.Names,
        "MODEL.PROPOSAL_GENERATOR.NAME" => ProposalGeneratorRegistry.Names,
        "MODEL.RPN.HEAD_NAME" => RPNHeadRegistry.Names,
        "MODEL.ROI_HEADS.NAME" => ROIHeadsRegistry.Names,
        "MODEL.ROI_BOX_HEAD.NAME" => ROIBoxHeadRegistry.Names,
        "MODEL.ROI_MASK_HEAD.NAME" => ROIMaskHeadRegistry.Names,
        _ => null,
    };

    /// <summary>Builds the model a resolved config describes, on CPU; move it with <c>to(TorchRuntime.ResolveDevice(MODEL.DEVICE))</c>.</summary>
    public static GeneralizedRCNN Build(CfgNode cfg)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        return MetaArchRegistry[cfg.Get<string>("MODEL.META_ARCHITECTURE")](cfg);
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
}
