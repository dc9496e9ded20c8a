using SkiaSharp;
using static TorchSharp.torch;

namespace D2.Detection.Inference;

/// <summary>
/// The predictor's input side, as Detectron2's DefaultPredictor does it: decode the image bytes, then apply the test-time
/// transform (ResizeShortestEdge from INPUT.MIN_SIZE_TEST / INPUT.MAX_SIZE_TEST) and put the channels in INPUT.FORMAT order.
/// Decoding is separate so that the visualiser draws on exactly the pixels the model saw (same EXIF orientation).
/// Implementations must be safe to call from several threads at once.
/// </summary>
public interface IImagePreprocessor
{
    /// <summary>Decodes an encoded image (JPEG, PNG, ...) with its EXIF orientation applied.</summary>
    /// <exception cref="InvalidImageException">the bytes are not an image this decoder can read</exception>
    SKBitmap Decode(ReadOnlySpan<byte> imageBytes);

    /// <summary>The model input for <paramref name="image"/>: resized, channels in INPUT.FORMAT order, 0..255.</summary>
    PreprocessedImage Preprocess(SKBitmap image);
}

/// <summary>One image ready for the model, and the size its predictions are reported at.</summary>
/// <param name="Image">(3, H, W) float32 on the CPU, 0..255, channels in INPUT.FORMAT order, after the test-time resize</param>
/// <param name="OriginalHeight">height of the decoded image (predictions are scaled back to it)</param>
/// <param name="OriginalWidth">width of the decoded image</param>
public sealed record PreprocessedImage(Tensor Image, int OriginalHeight, int OriginalWidth) : IDisposable
{
    public void Dispose() => Image.Dispose();
}
