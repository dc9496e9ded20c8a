using System.Diagnostics;
using System.Runtime.InteropServices;

namespace D2.Operations.Local;

/// <summary>SIGTERM for a child process. .NET's Process can only kill (SIGKILL), but SageMaker's stop contract is
/// SIGTERM first so the container can write its model and checkpoints.</summary>
internal static partial class PosixSignals
{
    private const int SigTerm = 15;

    /// <summary>Sends SIGTERM (POSIX) or, where there is no such signal (Windows), kills the process tree.</summary>
    public static void Terminate(Process process)
    {
        if (HasExited(process))
            return;
        if (OperatingSystem.IsWindows())
        {
            Kill(process);
            return;
        }
        _ = kill(process.Id, SigTerm);
    }

    public static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited between the check and the kill.
        }
    }

    /// <summary>Terminates a process this server no longer owns (left by a previous server run), by id.</summary>
    public static void TerminateOrphan(int pid, DateTimeOffset startedAt)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            // A recycled id belongs to some other program: only touch the process that started when ours did.
            if (Math.Abs((process.StartTime.ToUniversalTime() - startedAt.UtcDateTime).TotalSeconds) > 2)
                return;
            Kill(process);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Gone already, or not ours to inspect.
        }
    }

    private static bool HasExited(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

#pragma warning disable SYSLIB1054 // LibraryImport would require AllowUnsafeBlocks for this one blittable call.
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
#pragma warning restore SYSLIB1054
}
