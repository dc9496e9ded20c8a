using System.Diagnostics;
using D2.Build.Engine;

namespace D2.Build.Workflows;

/// <summary>
/// The workflow validator (@action-validator/cli, pinned in build/workflow-lint/package.json + package-lock.json):
/// installed with <c>npm ci</c> into build/workflow-lint/node_modules (git-ignored) when missing, then run per file.
/// </summary>
public static class WorkflowLint
{
    public static string Folder(string root) => Path.Combine(root, "build", "workflow-lint");

    public static string Validator(string root) => Path.Combine(Folder(root), "node_modules", ".bin", "action-validator");

    /// <summary>Installs the pinned validator when it is not there yet (needs node and npm, which GitHub's runners have).</summary>
    public static async Task<string> EnsureValidatorAsync(string root)
    {
        var validator = Validator(root);
        if (File.Exists(validator))
            return validator;
        try
        {
            await Tools.ProcessTasks.RunAsync("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"], Folder(root));
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new BuildFailedException($"The workflow validator needs Node.js and npm ({e.Message}); install Node.js 20 or later.");
        }
        return File.Exists(validator) ? validator : throw new BuildFailedException($"npm ci did not install {validator}.");
    }

    /// <summary>Validates one workflow file; returns the exit code and the validator's report.</summary>
    public static (int ExitCode, string Report) Validate(string validator, string workflow)
    {
        var info = new ProcessStartInfo(validator) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(workflow);
        using var process = Process.Start(info) ?? throw new BuildFailedException($"Could not start {validator}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"{validator} timed out on {workflow}");
        }
        return (process.ExitCode, (stdout.Result + stderr.Result).Trim());
    }

    public static IReadOnlyList<string> WorkflowFiles(string root) =>
        [.. Directory.EnumerateFiles(Path.Combine(root, ".github", "workflows")).Where(f => f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".yaml", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
}
