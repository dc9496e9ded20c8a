namespace D2.Detection.Inference;

/// <summary>The input is not an image the predictor can read (unknown format, truncated, empty). A client error:
/// the serving container answers it with a 4xx, <c>d2 predict</c> with exit code 2.</summary>
public sealed class InvalidImageException : Exception
{
    public InvalidImageException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
