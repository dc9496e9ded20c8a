using D2.Detection.Layers;
using D2.Detection.Structures;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling;

/// <summary>Statistics of one intermediate tensor (computed in float64; std is PyTorch's default, unbiased).</summary>
public sealed record TensorSummary(string Name, IReadOnlyList<long> Shape, double Mean, double Std, double Min, double Max)
{
    internal static TensorSummary Of(string name, Tensor tensor)
    {
        using var scope = NewDisposeScope();
        var values = tensor.detach().to(float64);
        if (values.numel() == 0)
            return new TensorSummary(name, tensor.shape, double.NaN, double.NaN, double.NaN, double.NaN);
        return new TensorSummary(name, tensor.shape, values.mean().item<double>(),
            values.numel() > 1 ? values.std().item<double>() : double.NaN, values.min().item<double>(), values.max().item<double>());
    }
}

/// <summary>The RPN's output for one image: how many proposals survived and the best ones (sorted by logit).</summary>
/// <param name="TopBoxes">XYXY in the network input's (resized, unpadded) pixels</param>
public sealed record ProposalSummary(long Count, IReadOnlyList<float[]> TopBoxes, IReadOnlyList<float> TopLogits);

/// <summary>The box head's inference funnel for one image.</summary>
/// <param name="Proposals">proposals fed to the box head</param>
/// <param name="AboveScoreThreshold">(proposal, class) pairs with score &gt; SCORE_THRESH_TEST, the candidates for NMS</param>
/// <param name="Detections">after per-class NMS and DETECTIONS_PER_IMAGE</param>
public sealed record BoxHeadSummary(long Proposals, long AboveScoreThreshold, long Detections);

/// <summary>
/// Collects summaries of the intermediate results of one <see cref="GeneralizedRCNN.Inference"/> call (an opt-in
/// debugging aid, so that a prediction that differs from Detectron2's can be traced to the layer where it starts). Only
/// numbers are kept, never tensors.
/// </summary>
public sealed class InferenceTrace
{
    /// <param name="topProposals">proposals listed per image</param>
    public InferenceTrace(int topProposals = 20)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(topProposals);
        TopProposalCount = topProposals;
    }

    public int TopProposalCount { get; }

    /// <summary>The normalised, padded batch fed to the backbone ("images").</summary>
    public TensorSummary? Input { get; private set; }

    /// <summary>Per image, the unpadded (height, width) of the network input.</summary>
    public IReadOnlyList<(int Height, int Width)> ImageSizes { get; private set; } = [];

    /// <summary>Bottom-up (res2..res5) then backbone output (p2..p6) features, in order.</summary>
    public List<TensorSummary> Features { get; } = [];

    public List<ProposalSummary> Proposals { get; } = [];

    public List<BoxHeadSummary> BoxHead { get; } = [];

    internal void RecordInput(ImageList images)
    {
        Input = TensorSummary.Of("images", images.Tensor);
        ImageSizes = [.. images.ImageSizes];
    }

    internal void RecordFeatures(IReadOnlyDictionary<string, Tensor> features)
    {
        foreach (var (name, feature) in features)
            Features.Add(TensorSummary.Of(name, feature));
    }

    internal void RecordProposals(IReadOnlyList<Instances> proposals)
    {
        using var scope = NewDisposeScope();
        foreach (var perImage in proposals)
        {
            var count = (int)Math.Min(perImage.Length, TopProposalCount);
            var boxes = TensorMemory.ToArray<float>(perImage.Get<Boxes>("proposal_boxes").Tensor[..count]);
            var logits = TensorMemory.ToArray<float>(perImage.Get<Tensor>("objectness_logits")[..count].to(float32));
            Proposals.Add(new ProposalSummary(perImage.Length, [.. boxes.Chunk(4)], logits));
        }
    }

    /// <param name="scores">per image, (R, K + 1) class probabilities, background last</param>
    internal void RecordBoxHead(IReadOnlyList<Tensor> scores, double scoreThreshold, IReadOnlyList<Instances> detections)
    {
        using var scope = NewDisposeScope();
        using var threshold = scoreThreshold.ToScalar();
        for (var i = 0; i < scores.Count; i++)
        {
            var foreground = scores[i][.., ..(int)(scores[i].shape[1] - 1)];
            BoxHead.Add(new BoxHeadSummary(scores[i].shape[0], foreground.gt(threshold).sum().item<long>(), detections[i].Length));
        }
    }
}
