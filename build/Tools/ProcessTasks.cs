using System.Diagnostics;

namespace D2.Build.Tools;

/// <summary>Runs a tool with its output streamed to the console; a non-zero exit fails the target.</summary>
public static class ProcessTasks
{
    public static async Task RunAsync(string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(fileName) { WorkingDirectory = workingDirectory, UseShellExecute = false };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            info.Environment[key] = value;
        Console.WriteLine($"> {fileName} {string.Join(' ', info.ArgumentList.Select(Quote))}");
        using var process = Process.Start(info) ?? throw new Engine.BuildFailedException($"Could not start '{fileName}'.");
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new Engine.BuildFailedException($"'{fileName} {string.Join(' ', info.ArgumentList.Take(2))}' exited with code {process.ExitCode}.");
    }

    private static string Quote(string argument) => argument.Contains(' ', StringComparison.Ordinal) ? $"\"{argument}\"" : argument;
}
