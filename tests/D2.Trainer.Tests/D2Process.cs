using System.Diagnostics;

namespace D2.Trainer.Tests;

/// <summary>Runs the built `d2` (the d2.dll copied next to the tests) as a real process, as users and the trainer image do.</summary>
internal static class D2Process
{
    public static (int Exit, string Stdout, string Stderr) Run(params string[] args) => RunWithEnvironment([], args);

    /// <summary>As <see cref="Run"/>, with extra environment variables for the child (a null value removes the variable).</summary>
    public static (int Exit, string Stdout, string Stderr) RunWithEnvironment(Dictionary<string, string?> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (name, value) in environment)
        {
            if (value is null)
                info.Environment.Remove(name);
            else
                info.Environment[name] = value;
        }
        info.ArgumentList.Add(Path.Combine(TestContext.CurrentContext.TestDirectory, "d2.dll"));
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"d2 {string.Join(' ', args)} did not exit within 2 minutes");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
