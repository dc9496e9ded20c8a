using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>Views of a CPU tensor's storage as a span, so that managed kernels read and write it without a copy.</summary>
internal static class TensorMemory
{
    /// <summary>
    /// The elements of a contiguous CPU tensor of element type <typeparamref name="T"/>. The span is valid only while the
    /// tensor is alive; tensors of 2 GiB or more cannot be viewed this way.
    /// </summary>
    public static Span<T> Span<T>(Tensor tensor) where T : unmanaged
    {
        if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
            throw new InvalidOperationException("A managed kernel needs a contiguous CPU tensor.");
        return tensor.numel() == 0 ? [] : MemoryMarshal.Cast<byte, T>(tensor.bytes);
    }
}
