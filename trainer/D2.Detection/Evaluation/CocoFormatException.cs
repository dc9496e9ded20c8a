namespace D2.Detection.Evaluation;

/// <summary>A COCO ground-truth or results file that cannot be used: missing, not JSON, or missing what COCO needs.
/// The message always starts with the file (or in-memory source) name.</summary>
public sealed class CocoFormatException : Exception
{
    public CocoFormatException(string source, string problem, Exception? inner = null)
        : base($"{source}: {problem}", inner)
    {
        SourceName = source;
        Problem = problem;
    }

    /// <summary>The file path, or the name given to in-memory JSON.</summary>
    public string SourceName { get; }

    /// <summary>What is wrong, without the file name.</summary>
    public string Problem { get; }
}
