using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection;

/// <summary>What the loaded Torch runtime offers, and the one place that turns MODEL.DEVICE into a device.</summary>
public static class TorchRuntime
{
    /// <summary>
    /// Parses a Detectron2 MODEL.DEVICE value ("cpu", "cuda", "cuda:1") and checks that this process can use it,
    /// so a CUDA request on a CPU build fails with a message instead of deep inside the first kernel.
    /// </summary>
    public static Device ResolveDevice(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var trimmed = name.Trim().ToLowerInvariant();
        if (trimmed == "cpu")
            return CPU;
        if (trimmed == "cuda" || trimmed.StartsWith("cuda:", StringComparison.Ordinal))
        {
            var index = 0;
            if (trimmed.Length > 4 && !int.TryParse(trimmed.AsSpan(5), out index))
                throw new ArgumentException($"MODEL.DEVICE '{name}' is not valid: the CUDA index must be an integer, as in 'cuda:0'.", nameof(name));
            if (!cuda.is_available())
                throw new InvalidOperationException(
                    $"MODEL.DEVICE '{name}' asks for CUDA, but this build has no usable CUDA device " +
                    "(build with -p:TorchBackend=cuda and run on a GPU host, or set MODEL.DEVICE cpu).");
            var count = cuda.device_count();
            if (index < 0 || index >= count)
                throw new ArgumentException($"MODEL.DEVICE '{name}' names CUDA device {index}, but {count} device(s) are visible.", nameof(name));
            return new Device(DeviceType.CUDA, index);
        }
        throw new ArgumentException($"MODEL.DEVICE '{name}' is not valid: use 'cpu', 'cuda' or 'cuda:N'.", nameof(name));
    }

    /// <summary>
    /// The device a served or predicting model runs on: <paramref name="configured"/> (MODEL.DEVICE), except that a CUDA
    /// request where CUDA is unavailable (the CPU image, a CPU instance) falls back to "cpu"; <paramref name="note"/>
    /// then says so, for the log.
    /// </summary>
    public static string DeviceForInference(string configured, out string? note)
    {
        ArgumentNullException.ThrowIfNull(configured);
        note = null;
        if (cuda.is_available() || !configured.Trim().StartsWith("cuda", StringComparison.OrdinalIgnoreCase))
            return configured;
        note = $"MODEL.DEVICE {configured} asks for CUDA, which is not available here; running on cpu.";
        return "cpu";
    }

    /// <summary>Key facts about the runtime, in the order `d2 info` prints them.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Describe() =>
    [
        new("TorchSharp", typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown"),
        new("libtorch", __version__),
        new("CUDA available", cuda.is_available() ? $"yes ({cuda.device_count()} device(s))" : "no"),
        new("intra-op threads", get_num_threads().ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new("GPU name/memory", NoDeviceProperties),
        new("ROIAlign/NMS/paste", Layers.TensorOpPath.Forced
            ? $"tensor ops everywhere ({Layers.TensorOpPath.ForceVariable}=1)"
            : "managed kernels on CPU, tensor ops on the device for CUDA"),
    ];

    const string NoDeviceProperties =
        "not exposed by TorchSharp 0.107 (no device properties or CUDA memory statistics), so max_mem is not printed";

    /// <summary>The device line logged when training starts (Detectron2 logs the GPU's name and memory there).</summary>
    public static string DeviceFacts(Device device) => device.type == DeviceType.CUDA
        ? $"Training on {device} ({cuda.device_count()} CUDA device(s) visible); GPU name/memory: {NoDeviceProperties}."
        : $"Training on {device}.";
}
