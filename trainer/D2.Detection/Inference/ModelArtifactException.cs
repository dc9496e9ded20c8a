namespace D2.Detection.Inference;

/// <summary>A model directory (the contents of <c>/opt/ml/model</c>) is missing or lacks a usable file; <see cref="Path"/>
/// names the directory or file at fault.</summary>
public sealed class ModelArtifactException : Exception
{
    public ModelArtifactException(string path, string problem, Exception? inner = null)
        : base($"{path}: {problem}", inner)
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The directory or file at fault.</summary>
    public string Path { get; }

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; }
}
