using System.Diagnostics;

namespace D2.Trainer.Tests;

/// <summary>The `d2` executable run as a real process, the way the trainer image and users start it.</summary>
public class D2CommandTests
{
    static (int exit, string stdout, string stderr) RunD2(params string[] args)
    {
        var d2 = Path.Combine(TestContext.CurrentContext.TestDirectory, "d2.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(d2);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.That(process.WaitForExit(TimeSpan.FromMinutes(2)), Is.True, "d2 did not exit");
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    [Test]
    public void Help_lists_the_commands()
    {
        var (exit, stdout, _) = RunD2("--help");
        Assert.That(exit, Is.Zero);
        Assert.That(stdout, Does.Contain("Usage:").And.Contain("info"));
    }

    [Test]
    public void Info_loads_the_native_torch_stack_and_computes_on_cpu()
    {
        var (exit, stdout, stderr) = RunD2("info");
        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Contain("libtorch").And.Contain("2.10"));
        Assert.That(stdout, Does.Contain("check on cpu").And.Contain("3 12 21 (expected 3 12 21)"));
    }

    [Test]
    public void Info_with_a_malformed_device_fails_and_names_it()
    {
        var (exit, stdout, stderr) = RunD2("info", "--device", "tpu");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(stdout + stderr, Does.Contain("'tpu'"));
    }
}
