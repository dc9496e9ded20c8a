namespace D2.Build.Engine;

/// <summary>Base of the build class: the repository root and the few services targets share.</summary>
public abstract class BuildBase
{
    /// <summary>The repository root (the folder holding MLOps.sln), found from the working directory upwards.</summary>
    public string RootDirectory { get; init; } = FindRoot(Directory.GetCurrentDirectory());

    /// <summary>Set by the runner: a short note the summary table shows beside the running target.</summary>
    internal Action<string> NoteSink { get; set; } = _ => { };

    /// <summary>Lines printed after the summary table (the test totals end the output, where CI reads them).</summary>
    internal List<string> ClosingLines { get; } = [];

    protected void Note(string text) => NoteSink(text);

    protected void AddClosingLine(string line) => ClosingLines.Add(line);

    protected string Root(params string[] parts) => Path.Combine([RootDirectory, .. parts]);

    private static string FindRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLOps.sln")))
                return dir.FullName;
        throw new BuildUsageException($"No MLOps.sln found in '{start}' or its parents: run the build from the repository.");
    }
}
