using D2.Detection.Config;
using D2.Detection.Modeling;
using D2.Detection.Modeling.Backbone;
using D2.Detection.Modeling.ROIHeads;
using D2.Detection.Structures;
using TorchSharp.Utils;
using static TorchSharp.torch;
// This test assembly has a D2.Detection.Tests.ROIHeads namespace, which hides the library's ROIHeads type by simple name here.
using ROIHeadsBase = D2.Detection.Modeling.ROIHeads.ROIHeads;

namespace D2.Detection.Tests.Modeling;

/// <summary>
/// An ROI heads implementation that lives outside the library, as a user's would: one linear classifier over ROIAligned
/// box features, trained on the base class's sampled proposals; inference keeps each image's top proposals with their
/// class and score. It uses only the library's public and protected API (this test assembly could see internals, so
/// keep it that way by hand), and is selected with MODEL.ROI_HEADS.NAME = <see cref="Name"/>.
/// </summary>
public sealed class TestOnlyROIHeads : ROIHeadsBase
{
    public const string Name = "TestOnlyROIHeads";
    private const int PoolerResolution = 4;
    private const int DetectionsPerImage = 5;

    private static readonly Lazy<bool> Registration = new(() =>
    {
        ModelBuilder.ROIHeadsRegistry.Register(Name, FromConfig);
        return true;
    });

    private readonly string[] _inFeatures;
    [ComponentName(Name = "pooler")]
    private readonly ROIPooler _pooler;
    [ComponentName(Name = "cls_score")]
    private readonly TorchSharp.Modules.Linear _clsScore;

    private TestOnlyROIHeads(CfgNode cfg, IReadOnlyList<string> inFeatures, ROIPooler pooler, long channels)
        : base(nameof(TestOnlyROIHeads), cfg)
    {
        _inFeatures = [.. inFeatures];
        _pooler = pooler;
        _clsScore = nn.Linear(channels * PoolerResolution * PoolerResolution, NumClasses + 1);
        register_module("pooler", _pooler);
        register_module("cls_score", _clsScore);
    }

    /// <summary>Registers the heads once per test run (a registry refuses a name twice).</summary>
    public static void EnsureRegistered() => _ = Registration.Value;

    public static TestOnlyROIHeads FromConfig(CfgNode cfg, IReadOnlyDictionary<string, ShapeSpec> inputShape)
    {
        var inFeatures = cfg.Get<string[]>("MODEL.ROI_HEADS.IN_FEATURES");
        var shapes = ShapeSpec.Select(inputShape, inFeatures, "MODEL.ROI_HEADS.IN_FEATURES");
        var pooler = new ROIPooler(PoolerResolution, shapes.Select(s => 1.0 / s.Stride).ToArray(), 0, "ROIAlignV2");
        return new TestOnlyROIHeads(cfg, inFeatures, pooler, shapes[0].Channels);
    }

    public override (List<Instances> Instances, Dictionary<string, Tensor> Losses) Forward(ImageList images, IReadOnlyDictionary<string, Tensor> features,
        IReadOnlyList<Instances> proposals, IReadOnlyList<Instances>? targets = null, InferenceTrace? trace = null,
        Action<InferenceStage>? stageCompleted = null)
    {
        using var scope = NewDisposeScope();
        var levels = _inFeatures.Select(f => features[f]).ToList();
        if (training)
        {
            var sampled = LabelAndSampleProposals(proposals, targets ?? throw new ArgumentException("Training needs targets.", nameof(targets)));
            var logits = _clsScore.forward(_pooler.forward(levels, sampled.Select(p => p.Get<Boxes>("proposal_boxes").Tensor).ToList()).flatten(1));
            var gtClasses = cat(sampled.Select(p => p.Get<Tensor>("gt_classes")).ToArray(), 0);
            var loss = nn.functional.cross_entropy(logits, gtClasses);
            return ([], new Dictionary<string, Tensor> { ["loss_test_cls"] = loss.MoveToOuterDisposeScope() });
        }
        var results = new List<Instances>();
        foreach (var perImage in proposals)
        {
            var boxes = perImage.Get<Boxes>("proposal_boxes").Tensor[..(int)Math.Min(DetectionsPerImage, perImage.Length)];
            var probabilities = _clsScore.forward(_pooler.forward(levels, [boxes]).flatten(1)).softmax(1)[.., ..NumClasses];
            var (scores, classes) = probabilities.max(1);
            var result = new Instances(perImage.ImageSize);
            result.Set("pred_boxes", new Boxes(boxes.clone()));
            result.Set("scores", scores);
            result.Set("pred_classes", classes);
            result.MoveToOuterDisposeScope();
            results.Add(result);
        }
        stageCompleted?.Invoke(InferenceStage.BoxHead);
        return (results, []);
    }
}
