using static TorchSharp.torch;

namespace D2.Detection.Modeling.Backbone;

/// <summary>
/// Detectron2's Backbone: maps a normalised, padded image batch (N, 3, H, W) to named feature maps
/// (e.g. "res2".."res5" or "p2".."p6"), each (N, C, H/stride, W/stride).
/// </summary>
public abstract class Backbone(string name) : nn.Module<Tensor, Dictionary<string, Tensor>>(name)
{
    /// <summary>Names, channels and strides of the outputs, in output order.</summary>
    public abstract IReadOnlyDictionary<string, ShapeSpec> OutputShape { get; }

    /// <summary>Inputs are padded to a multiple of this (FPN: its largest stride), so top-down maps line up.</summary>
    public virtual int SizeDivisibility => 0;
}
