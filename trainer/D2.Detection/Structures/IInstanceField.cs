using static TorchSharp.torch;

namespace D2.Detection.Structures;

/// <summary>
/// A per-instance structure (Boxes, BitMasks, PolygonMasks) that <see cref="Instances"/> can index, concatenate and move
/// without knowing its type, as Detectron2's Instances relies on <c>__getitem__</c>, <c>cat</c> and <c>to</c>.
/// </summary>
public interface IInstanceField
{
    /// <summary>Number of instances.</summary>
    long Length { get; }

    /// <summary>The instances chosen by a (Length,) bool mask or a vector of int64/int32 indices.</summary>
    IInstanceField Select(Tensor selection);

    /// <summary>This field's instances followed by those of <paramref name="others"/> (all of this field's type).</summary>
    IInstanceField Concat(IReadOnlyList<IInstanceField> others);

    /// <summary>A copy on <paramref name="device"/> (fields kept on the CPU, as PolygonMasks, return themselves).</summary>
    IInstanceField To(Device device);

    /// <summary>Moves any tensors this field holds out of the current dispose scope.</summary>
    void MoveToOuterDisposeScope();
}
