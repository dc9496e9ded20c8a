using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Modeling.ProposalGenerator;

/// <summary>
/// What <see cref="GeneralizedRCNN"/> needs of a proposal generator (Detectron2's PROPOSAL_GENERATOR_REGISTRY builds one
/// from MODEL.PROPOSAL_GENERATOR.NAME; <see cref="RPN"/> is the built-in). Its state-dict names sit under
/// <c>proposal_generator.*</c>.
/// </summary>
public abstract class ProposalGenerator(string name) : nn.Module(name)
{
    /// <param name="images">the normalised, padded batch with each image's unpadded size</param>
    /// <param name="features">backbone outputs by name, each (N, C, Hi, Wi)</param>
    /// <param name="gtInstances">per image, the ground truth ("gt_boxes", ...); required in training</param>
    /// <returns>per image, Instances with "proposal_boxes" (Boxes) and "objectness_logits"; the losses in training (none in inference)</returns>
    public abstract (List<Instances> Proposals, Dictionary<string, Tensor> Losses) Forward(ImageList images,
        IReadOnlyDictionary<string, Tensor> features, IReadOnlyList<Instances>? gtInstances = null);

    /// <summary>
    /// Scalars of the last training forward for the event storage (Detectron2 puts them there from inside forward), e.g.
    /// rpn/num_pos_anchors; none by default.
    /// </summary>
    public virtual IReadOnlyList<KeyValuePair<string, double>> TrainingStatistics => [];
}
