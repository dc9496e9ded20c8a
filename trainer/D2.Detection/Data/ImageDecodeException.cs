namespace D2.Detection.Data;

/// <summary>An image file could not be read: missing, not an image, corrupt, truncated, or not the size its record says.</summary>
public sealed class ImageDecodeException : Exception
{
    public ImageDecodeException(string fileName, string message, Exception? innerException = null)
        : base($"Cannot read image '{fileName}': {message}", innerException)
    {
        FileName = fileName;
    }

    /// <summary>The file (or, for in-memory bytes, the name the caller gave them).</summary>
    public string FileName { get; }
}
