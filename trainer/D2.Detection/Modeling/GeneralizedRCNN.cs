using TorchSharp.Utils;
using D2.Detection.Config;
using D2.Detection.Modeling.Backbone;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Modeling;

/// <summary>
/// Detectron2's GeneralizedRCNN: normalise and pad the images, backbone, proposal generator, ROI heads; losses in training,
/// post-processed Instances at each input's requested size in inference. State-dict names: <c>backbone.*</c>,
/// <c>proposal_generator.*</c>, <c>roi_heads.*</c> (pixel mean/std are not saved, as in Detectron2). Registered as
/// "GeneralizedRCNN" (MODEL.META_ARCHITECTURE); its parts are whatever the backbone, proposal-generator and ROI-heads
/// registries build for the config's names.
/// </summary>
public sealed class GeneralizedRCNN : nn.Module
{
    [ComponentName(Name = "backbone")]
    private readonly Backbone.Backbone _backbone;
    [ComponentName(Name = "proposal_generator")]
    private readonly ProposalGenerator.ProposalGenerator _proposalGenerator;
    [ComponentName(Name = "roi_heads")]
    private readonly ROIHeads.ROIHeads _roiHeads;
    private readonly float[] _pixelMean, _pixelStd;

    /// <param name="pixelMean">per channel, in INPUT.FORMAT order (Detectron2's default is BGR)</param>
    public GeneralizedRCNN(Backbone.Backbone backbone, ProposalGenerator.ProposalGenerator proposalGenerator, ROIHeads.ROIHeads roiHeads,
        IReadOnlyList<double> pixelMean, IReadOnlyList<double> pixelStd)
        : base(nameof(GeneralizedRCNN))
    {
        if (pixelMean.Count != pixelStd.Count)
            throw new ArgumentException($"MODEL.PIXEL_MEAN ({pixelMean.Count} values) and MODEL.PIXEL_STD ({pixelStd.Count}) must have the same length.");
        if (pixelStd.Any(s => s <= 0))
            throw new ArgumentException("MODEL.PIXEL_STD values must be positive.");
        _backbone = backbone;
        _proposalGenerator = proposalGenerator;
        _roiHeads = roiHeads;
        _pixelMean = pixelMean.Select(v => (float)v).ToArray();
        _pixelStd = pixelStd.Select(v => (float)v).ToArray();
        register_module("backbone", backbone);
        register_module("proposal_generator", proposalGenerator);
        register_module("roi_heads", roiHeads);
    }

    /// <summary>
    /// Detectron2's GeneralizedRCNN.from_config: the backbone MODEL.BACKBONE.NAME names (for images of as many channels as
    /// MODEL.PIXEL_MEAN has), then the proposal generator and the ROI heads MODEL.PROPOSAL_GENERATOR.NAME and
    /// MODEL.ROI_HEADS.NAME name, each given the backbone's output shapes; MODEL.PIXEL_MEAN and MODEL.PIXEL_STD.
    /// </summary>
    public static GeneralizedRCNN FromConfig(CfgNode cfg)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var pixelMean = cfg.Get<double[]>("MODEL.PIXEL_MEAN");
        var backbone = ModelBuilder.BackboneRegistry[cfg.Get<string>("MODEL.BACKBONE.NAME")](cfg, new ShapeSpec(pixelMean.Length));
        var proposalGenerator = ModelBuilder.ProposalGeneratorRegistry[cfg.Get<string>("MODEL.PROPOSAL_GENERATOR.NAME")](cfg, backbone.OutputShape);
        var roiHeads = ModelBuilder.ROIHeadsRegistry[cfg.Get<string>("MODEL.ROI_HEADS.NAME")](cfg, backbone.OutputShape);
        return new GeneralizedRCNN(backbone, proposalGenerator, roiHeads, pixelMean, cfg.Get<double[]>("MODEL.PIXEL_STD"));
    }

    public Backbone.Backbone Backbone => _backbone;
    public ProposalGenerator.ProposalGenerator ProposalGenerator => _proposalGenerator;
    public ROIHeads.ROIHeads ROIHeads => _roiHeads;

    /// <summary>The device of the model's parameters; inputs are moved there.</summary>
    public Device Device => parameters().FirstOrDefault()?.device ?? CPU;

    /// <summary>Training forward: the losses by Detectron2's names (loss_rpn_cls, loss_rpn_loc, loss_cls, loss_box_reg, loss_mask).</summary>
    public Dictionary<string, Tensor> ForwardTraining(IReadOnlyList<ModelInput> batch)
    {
        if (!training)
            throw new InvalidOperationException("ForwardTraining needs the model in training mode (call train()).");
        using var scope = NewDisposeScope();
        var device = Device;
        var targets = batch.Select((b, i) => (b.Instances ?? throw new ArgumentException($"Training input {i} has no ground-truth instances.")).To(device)).ToList();
        var images = PreprocessImage(batch);
        var features = ForwardBackbone(images.Tensor);
        var (proposals, proposalLosses) = _proposalGenerator.Forward(images, features, targets);
        var (_, detectorLosses) = _roiHeads.Forward(images, features, proposals, targets);
        var losses = new Dictionary<string, Tensor>();
        foreach (var (name, loss) in detectorLosses.Concat(proposalLosses))
            losses[name] = loss.MoveToOuterDisposeScope();
        return losses;
    }

    /// <summary>Inference: per input, Instances at (Height, Width) (default: the input's size) with pred_boxes, scores, pred_classes, pred_masks.</summary>
    /// <param name="trace">collects summaries of the intermediate results; an FPN's bottom-up features then cost a second pass</param>
    /// <param name="cancellationToken">checked after each <see cref="InferenceStage"/> (a flag read, no device sync), so work
    /// whose caller gave up stops before the next stage; uncancelled, results are unchanged</param>
    /// <param name="stageCompleted">called after each stage (before the token is checked), for metrics and tests</param>
    /// <exception cref="InferenceCancelledException">the token was cancelled; the stages after its CompletedStage did not run</exception>
    public List<Instances> Inference(IReadOnlyList<ModelInput> batch, bool doPostprocess = true, InferenceTrace? trace = null,
        CancellationToken cancellationToken = default, Action<InferenceStage>? stageCompleted = null)
    {
        void Completed(InferenceStage stage)
        {
            stageCompleted?.Invoke(stage);
            if (cancellationToken.IsCancellationRequested)
                throw new InferenceCancelledException(stage, cancellationToken);
        }

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var images = PreprocessImage(batch);
        trace?.RecordInput(images);
        Completed(InferenceStage.Preprocess);
        if (trace is not null && _backbone is Backbone.FPN fpn)
            trace.RecordFeatures(fpn.BottomUp.forward(images.Tensor));
        var features = ForwardBackbone(images.Tensor);
        trace?.RecordFeatures(features);
        Completed(InferenceStage.Backbone);
        var (proposals, _) = _proposalGenerator.Forward(images, features);
        trace?.RecordProposals(proposals);
        Completed(InferenceStage.ProposalGenerator);
        var (results, _) = _roiHeads.Forward(images, features, proposals, trace: trace, stageCompleted: Completed);
        using var postprocessStage = StageProfile.Measure("postprocess");
        var output = new List<Instances>();
        for (var i = 0; i < results.Count; i++)
        {
            var (height, width) = images.ImageSizes[i];
            var result = doPostprocess
                ? Postprocessing.DetectorPostprocess(results[i], batch[i].Height ?? height, batch[i].Width ?? width)
                : results[i];
            output.Add(result);
        }
        if (doPostprocess)
            Completed(InferenceStage.Postprocess);
        foreach (var result in output)
            result.MoveToOuterDisposeScope();
        return output;
    }

    // An FPN times its bottom-up part and its own layers as separate stages; any other backbone is one stage.
    private Dictionary<string, Tensor> ForwardBackbone(Tensor images)
    {
        using var stage = _backbone is Backbone.FPN ? default : StageProfile.Measure("backbone");
        return _backbone.forward(images);
    }

    /// <summary>Normalises each image ((x - mean) / std per channel) and pads the batch to the backbone's size divisibility.</summary>
    public ImageList PreprocessImage(IReadOnlyList<ModelInput> batch)
    {
        if (batch.Count == 0)
            throw new ArgumentException("The batch is empty.", nameof(batch));
        using var stage = StageProfile.Measure("preprocess");
        using var scope = NewDisposeScope();
        var device = Device;
        var mean = tensor(_pixelMean, device: device).view(-1, 1, 1);
        var std = tensor(_pixelStd, device: device).view(-1, 1, 1);
        var images = batch.Select((b, i) =>
        {
            if (b.Image.dim() != 3 || b.Image.shape[0] != _pixelMean.Length)
                throw new ArgumentException($"Input {i}: the image must be ({_pixelMean.Length}, H, W); got [{string.Join(", ", b.Image.shape)}].");
            return (b.Image.to(device).to(float32) - mean) / std;
        }).ToList();
        var list = ImageList.FromTensors(images, _backbone.SizeDivisibility);
        list.Tensor.MoveToOuterDisposeScope();
        return list;
    }
}
