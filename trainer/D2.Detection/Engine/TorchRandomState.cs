using D2.Detection.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Engine;

/// <summary>
/// torch's default (CPU) generator state as text, kept in training checkpoints so that a resumed run draws the same
/// random samples (RPN/ROI sampling, initialisation) as an uninterrupted one. Detectron2 does not save it; it costs a
/// few kilobytes of header. CUDA generators are not covered.
/// </summary>
public static class TorchRandomState
{
    /// <summary>The checkpoint metadata key.</summary>
    public const string MetadataKey = "torch_rng_state";

    public static string Capture()
    {
        using var state = random.get_rng_state();
        return Convert.ToBase64String(TensorMemory.ToArray<byte>(state));
    }

    /// <exception cref="FormatException">not a state written by <see cref="Capture"/></exception>
    public static void Restore(string state)
    {
        ArgumentException.ThrowIfNullOrEmpty(state);
        var bytes = Convert.FromBase64String(state);
        using var tensor = torch.tensor(bytes, dtype: ScalarType.Byte);
        random.set_rng_state(tensor);
    }
}
