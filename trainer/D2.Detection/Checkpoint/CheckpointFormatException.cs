namespace D2.Detection.Checkpoint;

/// <summary>A checkpoint file that cannot be read: truncated, malformed or of an unsupported kind. The message names the file.</summary>
public sealed class CheckpointFormatException : Exception
{
    public CheckpointFormatException(string path, string problem, Exception? inner = null)
        : base($"Checkpoint '{path}': {problem}", inner)
    {
        FilePath = path;
    }

    /// <summary>The file that could not be read.</summary>
    public string FilePath { get; }
}
