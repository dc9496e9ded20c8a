using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Modeling;

/// <summary>
/// One image for the model, as a Detectron2 dataset mapper produces it: the image (C, H, W) in INPUT.FORMAT channel order
/// and 0..255 range after the test- or train-time resize; ground truth for training; the size to report results at.
/// </summary>
/// <param name="Image">(3, H, W), uint8 or float</param>
/// <param name="Instances">training targets: "gt_boxes" (Boxes), "gt_classes" (int64), "gt_masks" (PolygonMasks/BitMasks)</param>
/// <param name="Height">original height to rescale predictions to (default: the input's)</param>
/// <param name="Width">original width to rescale predictions to (default: the input's)</param>
public sealed record ModelInput(Tensor Image, Instances? Instances = null, int? Height = null, int? Width = null);
