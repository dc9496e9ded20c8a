using System.Runtime.InteropServices;
using D2.Detection.Layers;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Inference;

/// <summary>
/// The prediction fields of an Instances copied to plain arrays (what JSON, COCO results and drawing read). Masks stay in
/// the (N, H, W) tensor and are read one at a time, so a hundred full-size masks never exist as bytes all at once.
/// </summary>
internal sealed class PredictionArrays
{
    readonly Tensor? _masks;

    PredictionArrays(Instances instances)
    {
        ImageSize = instances.ImageSize;
        using var scope = NewDisposeScope();
        Boxes = TensorMemory.ToArray<float>(instances.Get<Boxes>("pred_boxes").Tensor);
        Count = Boxes.Length / 4;
        Scores = TensorMemory.ToArray<float>(instances.Get<Tensor>("scores").to(float32));
        Classes = TensorMemory.ToArray<long>(instances.Get<Tensor>("pred_classes").to(int64));
        if (Scores.Length != Count || Classes.Length != Count)
            throw new ArgumentException($"Predictions disagree in length: {Count} boxes, {Scores.Length} scores, {Classes.Length} classes.", nameof(instances));
        if (instances.Has("pred_masks"))
        {
            var field = instances.Get("pred_masks");
            var tensor = field switch
            {
                Tensor t => t,
                BitMasks b => b.Tensor,
                _ => throw new ArgumentException($"pred_masks is a {field.GetType().Name}; an (N, H, W) bool tensor or BitMasks is expected.", nameof(instances)),
            };
            if (tensor.dim() != 3 || tensor.shape[0] != Count)
                throw new ArgumentException($"pred_masks must be (N, H, W) with N = {Count}; got [{string.Join(", ", tensor.shape)}].", nameof(instances));
            _masks = tensor;
            MaskSize = ((int)tensor.shape[1], (int)tensor.shape[2]);
        }
    }

    /// <param name="instances">with pred_boxes (Boxes), scores, pred_classes and optionally pred_masks ((N, H, W) bool)</param>
    public static PredictionArrays From(Instances instances)
    {
        ArgumentNullException.ThrowIfNull(instances);
        return new PredictionArrays(instances);
    }

    public int Count { get; }

    public (int Height, int Width) ImageSize { get; }

    /// <summary>N x 4 XYXY, row after row.</summary>
    public float[] Boxes { get; }

    public float[] Scores { get; }

    public long[] Classes { get; }

    public bool HasMasks => _masks is not null;

    /// <summary>(H, W) of the masks; normally the image size.</summary>
    public (int Height, int Width) MaskSize { get; }

    /// <summary>Mask <paramref name="index"/>, row-major, 1 = on.</summary>
    public byte[] Mask(int index)
    {
        using var mask = HostMask(index);
        var bytes = MemoryMarshal.AsBytes(TensorMemory.Span<bool>(mask));
        var result = new byte[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
            result[i] = bytes[i] != 0 ? (byte)1 : (byte)0;
        return result;
    }

    /// <summary>Mask <paramref name="index"/> as a COCO RLE (column-major runs, as pycocotools encodes), read straight from
    /// the tensor's memory: no libtorch kernel runs on the caller's thread (see <see cref="Data.ImageBuffer.ToFloatTensor"/>).</summary>
    public Rle MaskRle(int index)
    {
        using var mask = HostMask(index);
        return Rle.Encode(MemoryMarshal.AsBytes(TensorMemory.Span<bool>(mask)), MaskSize.Height, MaskSize.Width);
    }

    /// <summary>Mask <paramref name="index"/> as a contiguous (H, W) bool CPU tensor: a view of the masks on the CPU, one
    /// mask's copy from another device.</summary>
    Tensor HostMask(int index)
    {
        if (_masks is null)
            throw new InvalidOperationException("These predictions have no pred_masks.");
        using var scope = NewDisposeScope();
        var mask = _masks[index];
        if (mask.dtype != ScalarType.Bool)
            mask = mask.ne(TorchScalars.Zero);
        return mask.cpu().contiguous().MoveToOuterDisposeScope();
    }
}
