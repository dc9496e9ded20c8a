using System.Runtime.InteropServices;

namespace D2.Detection;

/// <summary>
/// How long libtorch's idle OpenMP workers spin before they sleep, for a process that answers requests (D2.Serving, and
/// the serving bench's bare side so both sides run alike). libtorch's GNU OpenMP runtime lets each worker busy-wait for
/// <c>GOMP_SPINCOUNT</c> iterations after every parallel region (300,000 by default, milliseconds of a core) so the next
/// region starts without a wake-up. Between a forward pass's regions that pays; after the last one the spinning workers
/// hold cores while the same request's answer is encoded and written and the next one is decoded. A shorter spin covers
/// the gaps inside a pass and lets the workers sleep soon after it. The runtime reads the variable once, when libtorch
/// loads, so <see cref="Configure"/> runs before anything touches libtorch.
/// </summary>
public static class OpenMPSpin
{
    public const string Variable = "GOMP_SPINCOUNT";

    /// <summary>The spin count set where neither <see cref="Variable"/> nor OMP_WAIT_POLICY is set.</summary>
    public const string DefaultSpinCount = "10000";

    [DllImport("libc", EntryPoint = "setenv")]
    static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);

    /// <summary>Sets <see cref="Variable"/> to <see cref="DefaultSpinCount"/> unless an operator chose a wait policy.</summary>
    /// <returns>what applies, for the start-up log line</returns>
    public static string Configure()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } spin)
            return $"OpenMP: {Variable} {spin} (set)";
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is { Length: > 0 } policy)
            return $"OpenMP: OMP_WAIT_POLICY {policy} (set)";
        if (OperatingSystem.IsWindows())
            return "OpenMP: runtime defaults (not a GNU OpenMP platform)";
        // The runtime reads the C environment (getenv); .NET's Environment.SetEnvironmentVariable does not reach it.
        if (SetEnv(Variable, DefaultSpinCount, 0) != 0)
            return "OpenMP: runtime defaults (setenv failed)";
        Environment.SetEnvironmentVariable(Variable, DefaultSpinCount);
        return $"OpenMP: {Variable} {DefaultSpinCount} (idle workers sleep soon after a pass)";
    }
}
