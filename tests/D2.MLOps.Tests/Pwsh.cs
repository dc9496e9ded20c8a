using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace D2.MLOps.Tests;

/// <summary>Runs a PowerShell script in a real `dotnet pwsh` process with the built module imported.</summary>
internal static class Pwsh
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Configuration { get; } =
        typeof(Pwsh).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "Configuration").Value!;

    /// <summary>The module folder the build lays out (bin/ of D2.MLOps: manifest, assemblies, help, formats).</summary>
    public static string ModuleFolder => Path.Combine(RepositoryRoot, "module", "D2.MLOps", "bin", Configuration, "net10.0");

    public static string D2Dll => Path.Combine(RepositoryRoot, "trainer", "D2.Trainer", "bin", Configuration, "net10.0", "d2.dll");

    public static string ServingDll => Path.Combine(RepositoryRoot, "serving", "D2.Serving", "bin", Configuration, "net10.0", "D2.Serving.dll");

    public sealed record Result(int ExitCode, string Output, string Errors)
    {
        /// <summary>The last line of output that is JSON (scripts end with ConvertTo-Json -Compress).</summary>
        public JsonElement Json()
        {
            var line = Output.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{') || l.StartsWith('['))
                       ?? throw new AssertionException($"No JSON in the output.\nstdout:\n{Output}\nstderr:\n{Errors}");
            return JsonDocument.Parse(line).RootElement;
        }
    }

    /// <summary>Runs <paramref name="script"/> after Import-Module; returns when pwsh exits (killed after <paramref name="timeout"/>).</summary>
    public static async Task<Result> RunAsync(string script, TimeSpan timeout, string? workingDirectory = null)
    {
        var file = Path.Combine(Path.GetTempPath(), $"d2-mlops-test-{Guid.NewGuid():N}.ps1");
        await File.WriteAllTextAsync(file,
            $"$ErrorActionPreference = 'Stop'\n$ProgressPreference = 'SilentlyContinue'\nImport-Module '{ModuleFolder}/D2.MLOps.psd1'\n{script}\n");
        try
        {
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = RepositoryRoot,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", file })
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment["NO_COLOR"] = "1";
            start.Environment["COLUMNS"] = "250";
            using var process = Process.Start(start)!;
            var output = new StringBuilder();
            var errors = new StringBuilder();
            process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { lock (errors) { errors.AppendLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            using var limit = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new AssertionException($"pwsh ran past {timeout}.\nstdout:\n{output}\nstderr:\n{errors}");
            }

            process.WaitForExit();
            return new Result(process.ExitCode, output.ToString(), errors.ToString());
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Single-quoted PowerShell string literal.</summary>
    public static string Quote(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "MLOps.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("MLOps.sln not found above the test assembly.");
    }
}
