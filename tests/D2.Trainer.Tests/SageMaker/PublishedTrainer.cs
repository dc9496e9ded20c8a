using System.Diagnostics;

namespace D2.Trainer.Tests.SageMaker;

/// <summary>
/// The trainer as the image ships it: `dotnet publish` of D2.Trainer (from the build the tests already made), run
/// through its apphost `d2` like the Dockerfile's ENTRYPOINT. D2_PUBLISHED_TRAINER may point at a ready publish folder.
/// </summary>
internal static class PublishedTrainer
{
    private static readonly Lazy<string> Folder = new(Publish, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string Executable => Path.Combine(Folder.Value, "d2");

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                    return dir.FullName;
            throw new InvalidOperationException("MLOps.sln not found above the test directory.");
        }
    }

    private static string Publish()
    {
        if (Environment.GetEnvironmentVariable("D2_PUBLISHED_TRAINER") is { Length: > 0 } ready && File.Exists(Path.Combine(ready, "d2")))
            return ready;
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var repo = RepositoryRoot;
        var output = Path.Combine(repo, "artifacts", "publish", "trainer-tests");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "publish", Path.Combine(repo, "trainer", "D2.Trainer", "D2.Trainer.csproj"), "-c", configuration, "--no-build", "-o", output, "-nologo" })
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("dotnet publish of the trainer took over 5 minutes");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"dotnet publish of the trainer failed:\n{stdout.Result}\n{stderr.Result}");
        return output;
    }
}
