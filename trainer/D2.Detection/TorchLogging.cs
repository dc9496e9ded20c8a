using System.Runtime.InteropServices;
using TorchSharp;

namespace D2.Detection;

/// <summary>
/// libtorch's C++ log level, as PyTorch sets it. libtorch writes warnings such as "Could not initialize NNPACK! Reason:
/// Unsupported hardware." to stderr once per convolution with a batch of 16 or more on CPUs NNPACK does not support (the
/// mask head of every prediction: dozens of lines per request). PyTorch applies <c>TORCH_CPP_LOG_LEVEL</c> when Python
/// imports torch (c10::initLogging); libtorch loaded by TorchSharp never does, so the variable alone changes nothing.
/// <see cref="Initialize"/> does the same call, with ERROR where the variable is unset.
/// </summary>
public static class TorchLogging
{
    public const string Variable = "TORCH_CPP_LOG_LEVEL";

    /// <summary>The level used where <see cref="Variable"/> is unset: warnings off, errors kept.</summary>
    public const string DefaultLevel = "ERROR";

    delegate void InitLogging();

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>
    /// Applies <c>TORCH_CPP_LOG_LEVEL</c> (INFO, WARNING, ERROR, FATAL or 0-3, as in PyTorch; <see cref="DefaultLevel"/> when
    /// unset) to libtorch. Call before the first model runs; only libc10 is loaded for it, not the rest of libtorch.
    /// </summary>
    /// <returns>the level now in force, or null where libc10 or its initLogging could not be found (not Linux/macOS)</returns>
    public static string? Initialize()
    {
        var level = Environment.GetEnvironmentVariable(Variable);
        if (string.IsNullOrWhiteSpace(level))
        {
            level = DefaultLevel;
            // c10 reads the C environment (getenv); .NET's Environment.SetEnvironmentVariable does not reach it.
            if (!OperatingSystem.IsWindows())
                _ = SetEnv(Variable, level, 1);
        }
        if (OperatingSystem.IsWindows() || !TryLoadC10(out var c10))
            return null;
        // c10::initLogging() (Itanium C++ ABI name): reads TORCH_CPP_LOG_LEVEL into FLAGS_caffe2_log_level.
        if (!NativeLibrary.TryGetExport(c10, "_ZN3c1011initLoggingEv", out var initLogging))
            return null;
        Marshal.GetDelegateForFunctionPointer<InitLogging>(initLogging)();
        return level;
    }

    static bool TryLoadC10(out IntPtr handle)
    {
        // The copy TorchSharp loads (deps.json's native folder, or next to the app when published self-contained); an
        // already loaded libc10 is the same instance.
        var torchAssembly = typeof(torch).Assembly;
        foreach (var name in new[] { "libc10.so", "libc10.dylib", "c10" })
        {
            if (NativeLibrary.TryLoad(name, torchAssembly, DllImportSearchPath.AssemblyDirectory | DllImportSearchPath.SafeDirectories, out handle))
                return true;
            var beside = Path.Combine(AppContext.BaseDirectory, name);
            if (File.Exists(beside) && NativeLibrary.TryLoad(beside, out handle))
                return true;
        }
        handle = IntPtr.Zero;
        return false;
    }
}
