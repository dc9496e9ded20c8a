using System.Diagnostics;

namespace D2.Build.Tests;

/// <summary>The real entry points, as a user types them: build.sh under bash, build.ps1 under `dotnet pwsh`.</summary>
[NonParallelizable]
public class BootstrapScriptTests
{
    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                return dir.FullName;
        throw new InvalidOperationException("MLOps.sln not found above the test directory.");
    }

    static (int exit, string output) Run(string file, params string[] args) => RunIn(RepositoryRoot(), file, args);

    static (int exit, string output) RunIn(string directory, string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} did not finish in 3 minutes");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    static readonly string[] TargetNames = ["Clean", "Restore", "Compile", "Test", "Demo"];

    [Test]
    public void Build_sh_help_lists_targets_and_parameters()
    {
        var (exit, output) = Run("bash", "./build.sh", "--help");
        Assert.That(exit, Is.Zero, output);
        foreach (var target in TargetNames)
            Assert.That(output, Does.Contain(target));
        Assert.That(output, Does.Contain("--configuration").And.Contain("--torch-backend").And.Contain("(depends on: Compile)"));
    }

    [Test]
    public void Build_ps1_help_lists_the_same_targets_under_dotnet_pwsh()
    {
        var (exit, output) = Run("dotnet", "pwsh", "-NoProfile", "-File", "./build.ps1", "--help");
        Assert.That(exit, Is.Zero, output);
        foreach (var target in TargetNames)
            Assert.That(output, Does.Contain(target));
    }

    [TestCase("bash", "./build.sh")]
    [TestCase("dotnet", "pwsh", "-NoProfile", "-File", "./build.ps1")]
    public void Unknown_target_fails_with_the_valid_ones(params string[] command)
    {
        var (exit, output) = Run(command[0], [.. command[1..], "Deploi"]);
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("Unknown target 'Deploi'").And.Contain("Clean, Restore, Compile, Test, ").And.Contain(", Images, Push, ").And.Contain(", Demo").And.Contain("Train").And.Contain("Deploy"));
    }

    [Test]
    public void Unknown_parameter_fails_with_the_valid_ones()
    {
        var (exit, output) = Run("bash", "./build.sh", "Compile", "--confguration", "Debug");
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("'--confguration'").And.Contain("--configuration"));
    }

    [Test]
    public void Plan_mode_shows_the_order_and_runs_nothing()
    {
        var (exit, output) = Run("bash", "./build.sh", "Test", "--plan");
        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain("1. Restore").And.Contain("2. Compile").And.Contain("3. Test"));
    }

    [TestCase("bash", "./build.sh")]
    [TestCase("dotnet", "pwsh", "-NoProfile", "-File", "./build.ps1")]
    public void A_missing_pinned_sdk_fails_with_a_message_naming_it(params string[] command)
    {
        var folder = Directory.CreateTempSubdirectory("sdk-pin-").FullName;
        try
        {
            var root = RepositoryRoot();
            File.Copy(Path.Combine(root, "build.sh"), Path.Combine(folder, "build.sh"));
            File.Copy(Path.Combine(root, "build.ps1"), Path.Combine(folder, "build.ps1"));
            File.WriteAllText(Path.Combine(folder, "global.json"), """{ "sdk": { "version": "99.0.100", "rollForward": "disable" } }""");
            // `dotnet pwsh` needs the tool manifest; the SDK check inside the script is what is under test.
            Directory.CreateDirectory(Path.Combine(folder, ".config"));
            File.Copy(Path.Combine(root, ".config", "dotnet-tools.json"), Path.Combine(folder, ".config", "dotnet-tools.json"));
            var (exit, output) = RunIn(folder, command[0], [.. command[1..], "--help"]);
            Assert.That(exit, Is.Not.Zero, output);
            // Under `dotnet pwsh` the dotnet host itself refuses first, with its own message naming the pinned SDK.
            Assert.That(output, Does.Contain("99.0.100").And.Match("not installed|SDK was not found"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
