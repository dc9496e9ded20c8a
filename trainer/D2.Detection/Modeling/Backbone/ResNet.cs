using TorchSharp.Utils;
using D2.Detection.Config;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.Backbone;

/// <summary>
/// Detectron2's ResNet: a stem and stages res2..res5 (only up to the deepest requested output are built), returning the
/// requested stage outputs by name. State-dict names: <c>stem.conv1.*</c>, <c>res2.0.conv1.*</c>, <c>res2.0.shortcut.*</c>, ...
/// Registered as "build_resnet_backbone" (MODEL.BACKBONE.NAME).
/// </summary>
public sealed class ResNet : Backbone
{
    [ComponentName(Name = "stem")]
    private readonly BasicStem _stem;
    private readonly List<(string Name, nn.Module<Tensor, Tensor> Stage)> _stages = [];
    private readonly string[] _outFeatures;
    private readonly Dictionary<string, ShapeSpec> _outputShape = [];

    /// <param name="stages">per stage (res2 first), its blocks in order</param>
    /// <param name="outFeatures">names to return, among "stem", "res2".."res5"</param>
    /// <param name="freezeAt">0: train everything; 1: freeze the stem; k: the stem and res2..res(k)</param>
    public ResNet(BasicStem stem, IReadOnlyList<IReadOnlyList<ResNetBlock>> stages, IReadOnlyList<string> outFeatures, int freezeAt = 0)
        : base(nameof(ResNet))
    {
        if (outFeatures.Count == 0)
            throw new ArgumentException("ResNet needs at least one output feature.", nameof(outFeatures));
        _stem = stem;
        register_module("stem", stem);
        var shapes = new Dictionary<string, ShapeSpec> { ["stem"] = new(stem.OutChannels, BasicStem.Stride) };
        var stride = BasicStem.Stride;
        for (var i = 0; i < stages.Count; i++)
        {
            var name = $"res{i + 2}";
            var blocks = stages[i];
            if (blocks.Count == 0)
                throw new ArgumentException($"ResNet stage {name} has no blocks.", nameof(stages));
            stride *= blocks.Aggregate(1L, (s, b) => s * b.Stride);
            var stage = nn.Sequential(blocks.Select((b, j) => (j.ToString(System.Globalization.CultureInfo.InvariantCulture), (nn.Module<Tensor, Tensor>)b)).ToArray());
            register_module(name, stage);
            _stages.Add((name, stage));
            shapes[name] = new ShapeSpec(blocks[^1].OutChannels, stride);
        }
        foreach (var feature in outFeatures)
            _outputShape[feature] = shapes.TryGetValue(feature, out var shape)
                ? shape
                : throw new ArgumentException($"ResNet has no output '{feature}'; available: {string.Join(", ", shapes.Keys)}.", nameof(outFeatures));
        _outFeatures = [.. outFeatures];
        Freeze(freezeAt);
    }

    public override IReadOnlyDictionary<string, ShapeSpec> OutputShape => _outputShape;

    /// <summary>Stops gradients in the stem (k >= 1) and res2..res(k), as Detectron2's ResNet.freeze.</summary>
    private void Freeze(int freezeAt)
    {
        if (freezeAt >= 1)
            FreezeModule(_stem);
        for (var i = 0; i < _stages.Count; i++)
            if (freezeAt >= i + 2)
                FreezeModule(_stages[i].Stage);
    }

    private static void FreezeModule(nn.Module module)
    {
        foreach (var parameter in module.parameters())
            parameter.requires_grad = false;
    }

    /// <param name="x">(N, 3, H, W), normalised</param>
    public override Dictionary<string, Tensor> forward(Tensor x)
    {
        var outputs = new Dictionary<string, Tensor>();
        using var scope = NewDisposeScope();
        var y = _stem.forward(x);
        if (_outputShape.ContainsKey("stem"))
            outputs["stem"] = y;
        foreach (var (name, stage) in _stages)
        {
            y = stage.forward(y);
            if (_outputShape.ContainsKey(name))
                outputs[name] = y;
        }
        foreach (var value in outputs.Values)
            value.MoveToOuterDisposeScope();
        return _outFeatures.ToDictionary(f => f, f => outputs[f]);
    }

    /// <summary>Detectron2's build_resnet_backbone: MODEL.RESNETS.*, MODEL.BACKBONE.FREEZE_AT.</summary>
    /// <param name="inputShape">the image's channels</param>
    public static ResNet FromConfig(CfgNode cfg, ShapeSpec inputShape)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(inputShape);
        return Build(
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
            inChannels: inputShape.Channels);
    }

    /// <summary>
    /// Detectron2's build_resnet_backbone with plain arguments: depth 18/34 use BasicBlock, 50/101/152 BottleneckBlock;
    /// stages are built up to the deepest of <paramref name="outFeatures"/>.
    /// </summary>
    public static ResNet Build(int depth, IReadOnlyList<string> outFeatures, string norm = "FrozenBN", int freezeAt = 2,
        long stemOutChannels = 64, long res2OutChannels = 256, long numGroups = 1, long widthPerGroup = 64,
        bool strideIn1x1 = true, long res5Dilation = 1, long inChannels = 3)
    {
        int[] blocksPerStage = depth switch
        {
            18 => [2, 2, 2, 2],
            34 or 50 => [3, 4, 6, 3],
            101 => [3, 4, 23, 3],
            152 => [3, 8, 36, 3],
            _ => throw new ArgumentException($"MODEL.RESNETS.DEPTH {depth} is not supported; use 18, 34, 50, 101 or 152."),
        };
        if (res5Dilation is not (1 or 2))
            throw new ArgumentException($"MODEL.RESNETS.RES5_DILATION must be 1 or 2, not {res5Dilation}.");
        var basic = depth < 50;
        if (basic && res2OutChannels != 64)
            throw new ArgumentException($"MODEL.RESNETS.RES2_OUT_CHANNELS must be 64 for ResNet-{depth}, not {res2OutChannels}.");
        if (basic && (res5Dilation != 1 || numGroups != 1))
            throw new ArgumentException($"ResNet-{depth} (BasicBlock) supports neither RES5_DILATION nor NUM_GROUPS > 1.");

        // Detectron2 converts BatchNorm in frozen blocks to FrozenBatchNorm; building them frozen gives the same model.
        string NormFor(int stageIndex) => freezeAt >= stageIndex && (norm is "BN" or "SyncBN") ? "FrozenBN" : norm;
        var order = new[] { "stem", "res2", "res3", "res4", "res5" };
        var deepest = outFeatures.Select(f => Array.IndexOf(order, f)).DefaultIfEmpty(-1).Max();
        if (outFeatures.Any(f => Array.IndexOf(order, f) < 0))
            throw new ArgumentException($"MODEL.RESNETS.OUT_FEATURES has an unknown name: {string.Join(", ", outFeatures)}; use stem, res2..res5.");

        var stem = new BasicStem(inChannels, stemOutChannels, NormFor(1));
        var stages = new List<IReadOnlyList<ResNetBlock>>();
        long inC = stemOutChannels, outC = res2OutChannels, bottleneck = numGroups * widthPerGroup;
        for (var stageIndex = 2; stageIndex <= deepest + 1; stageIndex++)
        {
            var dilation = stageIndex == 5 ? res5Dilation : 1;
            var firstStride = stageIndex == 2 || (stageIndex == 5 && dilation == 2) ? 1 : 2;
            var stageNorm = NormFor(stageIndex);
            var blocks = new List<ResNetBlock>();
            for (var i = 0; i < blocksPerStage[stageIndex - 2]; i++)
            {
                var blockIn = i == 0 ? inC : outC;
                var stride = i == 0 ? firstStride : 1;
                blocks.Add(basic
                    ? new BasicBlock(blockIn, outC, stride, stageNorm)
                    : new BottleneckBlock(blockIn, outC, bottleneck, stride, numGroups, stageNorm, strideIn1x1, dilation));
            }
            stages.Add(blocks);
            inC = outC;
            outC *= 2;
            bottleneck *= 2;
        }
        return new ResNet(stem, stages, outFeatures, freezeAt);
    }
}
