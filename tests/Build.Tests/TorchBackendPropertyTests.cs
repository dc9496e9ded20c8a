using System.Diagnostics;
using System.Text.Json;

namespace D2.Build.Tests;

/// <summary>The Torch backend is one MSBuild property: evaluated here with MSBuild itself, no restore needed.</summary>
public class TorchBackendPropertyTests
{
    static string DetectionProject()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                return Path.Combine(dir.FullName, "trainer", "D2.Detection", "D2.Detection.csproj");
        throw new InvalidOperationException("MLOps.sln not found above the test directory.");
    }

    static (int exit, string output) MSBuild(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["msbuild", DetectionProject(), "-nologo", .. args])
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.That(process.WaitForExit(TimeSpan.FromMinutes(2)), Is.True);
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    static string[] PackageReferences(string backend)
    {
        var (exit, output) = MSBuild("-getItem:PackageReference", $"-p:TorchBackend={backend}");
        Assert.That(exit, Is.Zero, output);
        return JsonDocument.Parse(output).RootElement.GetProperty("Items").GetProperty("PackageReference")
            .EnumerateArray().Select(e => e.GetProperty("Identity").GetString()!).ToArray();
    }

    [Test]
    public void Cpu_backend_references_the_linux_cpu_natives_only()
    {
        var references = PackageReferences("cpu");
        Assert.That(references, Does.Contain("TorchSharp").And.Contain("libtorch-cpu-linux-x64"));
        Assert.That(references, Has.None.Contains("cuda").And.None.EqualTo("TorchSharp-cpu"));
    }

    [Test]
    public void Cuda_backend_swaps_in_the_cuda_natives()
    {
        var references = PackageReferences("cuda");
        Assert.That(references, Does.Contain("TorchSharp").And.Contain("libtorch-cuda-12.8-linux-x64"));
        Assert.That(references, Has.None.EqualTo("libtorch-cpu-linux-x64"));
    }

    [Test]
    public void The_package_name_passed_from_the_matrix_wins_over_the_default()
    {
        var (exit, output) = MSBuild("-getItem:PackageReference", "-p:TorchBackend=cuda", "-p:LibTorchPackage=libtorch-cuda-13.0-linux-x64");
        Assert.That(exit, Is.Zero, output);
        var references = JsonDocument.Parse(output).RootElement.GetProperty("Items").GetProperty("PackageReference")
            .EnumerateArray().Select(e => e.GetProperty("Identity").GetString()!).ToArray();
        Assert.That(references, Does.Contain("libtorch-cuda-13.0-linux-x64"));
        Assert.That(references, Has.None.StartsWith("libtorch-cuda-12").And.None.EqualTo("libtorch-cpu-linux-x64"));
    }

    [Test]
    public void Unknown_backend_is_an_error_naming_the_valid_ones()
    {
        var (exit, output) = MSBuild("-t:CollectPackageReferences", "-p:TorchBackend=rocm");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(output, Does.Contain("TorchBackend='rocm'").And.Contain("cpu").And.Contain("cuda"));
    }
}
