using System.Globalization;
using System.Runtime.InteropServices;

namespace D2.Detection.Distributed;

/// <summary>
/// A worker ends itself when its supervisor is gone (killed with SIGKILL, say), instead of training on as an orphan
/// that nobody waits for: the launcher passes its pid in D2_SUPERVISOR_PID, and a background thread checks once a second
/// that it is still this process's parent.
/// </summary>
public static class SupervisorWatch
{
    public const string Variable = "D2_SUPERVISOR_PID";

    [DllImport("libc", EntryPoint = "getppid")]
    private static extern int GetParentPid();

    /// <summary>Starts watching when D2_SUPERVISOR_PID is set (Linux only); <paramref name="onLost"/> runs once, then the process exits with code 1.</summary>
    public static void Start(Action<int>? onLost = null)
    {
        if (!OperatingSystem.IsLinux() || !int.TryParse(Environment.GetEnvironmentVariable(Variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var supervisor))
            return;
        var thread = new Thread(() =>
        {
            while (GetParentPid() == supervisor)
                Thread.Sleep(1000);
            onLost?.Invoke(supervisor);
            Environment.Exit(1);
        }) { IsBackground = true, Name = "D2 supervisor watch" };
        thread.Start();
    }
}
