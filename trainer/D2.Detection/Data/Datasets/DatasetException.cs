namespace D2.Detection.Data.Datasets;

/// <summary>
/// A dataset that cannot be loaded: a missing or unreadable file, malformed JSON, a missing or malformed field, an
/// unknown dataset name. The message starts with the file (or dataset name) at fault; the trainer reports it as bad
/// input (exit code 2).
/// </summary>
public sealed class DatasetException : Exception
{
    public DatasetException(string source, string problem, Exception? inner = null)
        : base($"{source}: {problem}", inner)
    {
        SourceName = source;
        Problem = problem;
    }

    /// <summary>The file path or dataset name the problem is about.</summary>
    public string SourceName { get; }

    /// <summary>What is wrong, without <see cref="SourceName"/>.</summary>
    public string Problem { get; }
}
