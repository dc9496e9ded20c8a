using System.Diagnostics;
using D2.Build.Engine;
using D2.Operations.Images;
using D2.Operations.Matrix;
using D2.Operations.Steps;

namespace D2.Build.Images;

/// <summary>The small glue of the Images and Push targets: what to tag with, whether a Docker engine answers.</summary>
public static class ImageTasks
{
    /// <summary>A registry that needs no cloud: where <c>--local</c> and <c>--image-plan</c> without <c>--registry</c> tag images.</summary>
    public const string LocalRegistry = "localhost:5000";

    /// <summary>The commit the images are built from: $GITHUB_SHA on Actions, else <c>git rev-parse HEAD</c>.</summary>
    public static string GitRevision(string root)
    {
        if (Environment.GetEnvironmentVariable("GITHUB_SHA") is { Length: > 0 } sha)
            return sha;
        var (exit, output) = Capture("git", ["rev-parse", "HEAD"], root, TimeSpan.FromSeconds(30));
        return exit == 0 && output.Trim().Length >= 7 ? output.Trim()
            : throw new BuildFailedException($"Cannot tell the git revision of {root} (git rev-parse HEAD: {output.Trim()}); images are tagged with it.");
    }

    /// <summary>The image version: a release tag (v1.2.3 -> 1.2.3) on Actions, else 0.1.0-dev.</summary>
    public static string Version() =>
        Environment.GetEnvironmentVariable("GITHUB_REF_TYPE") == "tag" && Environment.GetEnvironmentVariable("GITHUB_REF_NAME") is { Length: > 0 } tag
            ? tag.TrimStart('v')
            : "0.1.0-dev";

    /// <summary>The repository URL for the source label on Actions; null elsewhere.</summary>
    public static string? Source() =>
        Environment.GetEnvironmentVariable("GITHUB_SERVER_URL") is { Length: > 0 } server && Environment.GetEnvironmentVariable("GITHUB_REPOSITORY") is { Length: > 0 } repository
            ? $"{server}/{repository}"
            : null;

    public static ImagePlan Plan(string root, IEnumerable<string>? architectures, string registry, string? version)
    {
        var matrix = GpuArchitectureMatrix.Load(Path.Combine(root, GpuArchitectureMatrix.RelativePath));
        try
        {
            return ImagePlan.Create(matrix, architectures, registry, version ?? Version(), GitRevision(root), Source());
        }
        catch (ArgumentException e)
        {
            throw new BuildUsageException(e.Message);
        }
    }

    /// <summary>Null when <c>docker info</c> answers; else why not (no client, no engine).</summary>
    public static string? DockerEngineProblem(string docker)
    {
        try
        {
            var (exit, output) = Capture(docker, ["info", "--format", "{{.ServerVersion}}"], Directory.GetCurrentDirectory(), TimeSpan.FromSeconds(20));
            return exit == 0 && output.Trim().Length > 0 ? null : $"'{docker} info' found no Docker engine: {output.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"no docker client '{docker}' ({e.Message})";
        }
    }

    /// <summary>The registry for Push to AWS: <c>--registry</c>, else the caller's ECR registry (STS).</summary>
    public static async Task<string> AwsRegistryAsync(OperationsContext context, string? registry) =>
        registry is { Length: > 0 } ? registry : await context.Registry.DefaultRegistryAsync();

    static (int exit, string output) Capture(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info) ?? throw new BuildFailedException($"Could not start '{fileName}'.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {timeout.TotalSeconds:F0} s");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
