using static TorchSharp.torch;

namespace D2.Detection.Modeling.ROIHeads;

/// <summary>
/// A box head of the ROI_BOX_HEAD_REGISTRY (MODEL.ROI_BOX_HEAD.NAME; <see cref="FastRCNNConvFCHead"/> is the built-in): pooled
/// box features (R, C, H, W) to per-box features (R, <see cref="OutputSize"/>) for the box predictor. Detectron2 has no base
/// class here (it reads the module's output_shape); this one states that contract in a type.
/// </summary>
public abstract class ROIBoxHead(string name) : nn.Module<Tensor, Tensor>(name)
{
    /// <summary>Width of each box's output features (the box predictor's input size).</summary>
    public abstract long OutputSize { get; }
}
