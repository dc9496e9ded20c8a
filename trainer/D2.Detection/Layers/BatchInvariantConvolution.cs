using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// Makes an image's convolution results on the CPU independent of how many images share its batch, so that dynamic
/// batching answers exactly what one-by-one prediction answers. libtorch picks the float32 CPU backend per call
/// (Convolution.cpp, <c>use_mkldnn</c>): oneDNN for any batch of 2 or more, but its own im2col + GEMM for a single image
/// whose input has at most 20,480 values (ungrouped, a kernel of at most 3 in some dimension: "native is faster"), and
/// for unstrided 1x1 kernels on one thread below 16 images. The two backends round differently (measured up to 9.5e-7
/// per layer on 256 channels at 8x10). While active, every <see cref="Conv2d"/> on this thread runs the way a batch of
/// two would: such a single image as a batch of two copies (twice a layer of at most 20,480 input values), and a batch of
/// 16 or more through those 1x1 kernels in parts of 15. Training, CUDA (cuDNN picks its algorithms by batch size too)
/// and other dtypes are left alone.
/// </summary>
public static class BatchInvariantConvolution
{
    /// <summary>libtorch's largest single-image input (N*C*H*W) it convolves natively.</summary>
    public const long NativeMaxElements = 20_480;

    /// <summary>The batch from which libtorch sends unstrided 1x1 kernels on one thread to oneDNN.</summary>
    public const long OneDnnMinBatch = 16;

    [ThreadStatic]
    static bool _active;

    /// <summary>Whether convolutions on this thread are currently batch-invariant.</summary>
    public static bool IsActive => _active;

    /// <summary>Makes this thread's convolutions batch-invariant until the scope is disposed (scopes nest).</summary>
    public static Scope Activate()
    {
        var previous = _active;
        _active = true;
        return new Scope(previous);
    }

    /// <summary>Restores the previous state on dispose (the default value restores nothing).</summary>
    public readonly struct Scope : IDisposable
    {
        readonly bool _armed, _previous;

        internal Scope(bool previous) => (_armed, _previous) = (true, previous);

        public void Dispose()
        {
            if (_armed)
                _active = _previous;
        }
    }

    /// <summary>Runs <paramref name="convolve"/> on <paramref name="x"/> (N, C, H, W), as a batch of two would when active.</summary>
    internal static Tensor Apply(Tensor x, Tensor weight, long[] stride, long[] dilation, long groups, Func<Tensor, Tensor> convolve)
    {
        if (!_active || is_grad_enabled() || x.device_type != DeviceType.CPU || x.dtype != ScalarType.Float32 || x.dim() != 4)
            return convolve(x);
        var batch = x.shape[0];
        var pointwise = weight.shape[2] == 1 && weight.shape[3] == 1 && stride.All(s => s == 1) && dilation.All(d => d == 1);
        if (pointwise && get_num_threads() == 1)
        {
            // Native below 16 images (one image included), oneDNN from 16: keep every part below 16.
            if (batch < OneDnnMinBatch)
                return convolve(x);
            return cat(x.split(OneDnnMinBatch - 1).Select(convolve).ToList(), 0);
        }
        var largeKernel = weight.shape[2] > 3 && weight.shape[3] > 3;
        if (batch == 1 && groups == 1 && !largeKernel && x.numel() <= NativeMaxElements)
            return convolve(cat([x, x], 0)).narrow(0, 0, 1);
        return convolve(x);
    }
}
