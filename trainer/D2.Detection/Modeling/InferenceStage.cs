namespace D2.Detection.Modeling;

/// <summary>The stages of <see cref="GeneralizedRCNN.Inference"/>, in the order they run.</summary>
public enum InferenceStage
{
    /// <summary>Normalise and pad the batch (preprocess_image).</summary>
    Preprocess,
    Backbone,
    ProposalGenerator,
    /// <summary>The box head and its inference (scores, box regression, per-class NMS).</summary>
    BoxHead,
    /// <summary>The mask head (Mask R-CNN only).</summary>
    MaskHead,
    /// <summary>detector_postprocess: boxes and masks at each input's requested size.</summary>
    Postprocess,
}

/// <summary>
/// Inference stopped between two stages because its token was cancelled (a request past its deadline, a client gone):
/// the stages after <see cref="CompletedStage"/> never ran.
/// </summary>
public sealed class InferenceCancelledException(InferenceStage completedStage, CancellationToken cancellationToken)
    : OperationCanceledException($"Inference was cancelled after the {completedStage} stage.", cancellationToken)
{
    /// <summary>The last stage that ran.</summary>
    public InferenceStage CompletedStage { get; } = completedStage;
}
