using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// Chooses between the managed CPU kernels and the tensor-op implementations of ROIAlign, NMS and mask pasting (the
/// one place that decides). CUDA tensors always take the tensor-op path, which stays on the device; CPU tensors keep
/// the managed kernels unless <see cref="Forced"/> is set, which tests use to run a whole model through the tensor ops
/// on the CPU and compare it with the kernels. The check reads only the tensor's device: no host sync, no cost on CPU.
/// </summary>
public static class TensorOpPath
{
    /// <summary>Set to 1 to force the tensor-op path on CPU tensors for the whole process (for comparisons).</summary>
    public const string ForceVariable = "D2_FORCE_TENSOR_OPS";

    static readonly bool ForcedByEnvironment = Environment.GetEnvironmentVariable(ForceVariable) == "1";
    static readonly AsyncLocal<bool> ForcedHere = new();

    /// <summary>Whether CPU tensors are routed to the tensor-op path (environment variable or <see cref="Force"/>).</summary>
    public static bool Forced => ForcedByEnvironment || ForcedHere.Value;

    /// <summary>Whether an op on tensors living where <paramref name="tensor"/> lives uses the tensor-op path.</summary>
    public static bool Use(Tensor tensor) => tensor.device_type != DeviceType.CPU || Forced;

    /// <summary>Forces the tensor-op path in this async flow until the result is disposed (tests run in parallel).</summary>
    public static IDisposable Force()
    {
        var previous = ForcedHere.Value;
        ForcedHere.Value = true;
        return new Restore(previous);
    }

    sealed class Restore(bool previous) : IDisposable
    {
        public void Dispose() => ForcedHere.Value = previous;
    }
}
