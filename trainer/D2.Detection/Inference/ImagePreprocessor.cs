using System.Runtime.InteropServices;
using D2.Detection.Config;
using D2.Detection.Data;
using D2.Detection.Data.Transforms;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Inference;

/// <summary>
/// The default <see cref="IImagePreprocessor"/>: the data pipeline's decoder (<see cref="ImageDecoder"/>: Detectron2's
/// read_image semantics and the header-checked pixel limit) and DefaultPredictor's test-time ResizeShortestEdge. The resize is
/// Pillow's BILINEAR on the uint8 pixels (<see cref="PilResize"/>, byte for byte), which Detectron2's ResizeTransform
/// calls through <c>Image.fromarray(img).resize(...)</c>; torch's antialiased interpolate only approximates it.
/// </summary>
public sealed class ImagePreprocessor : IImagePreprocessor
{
    /// <param name="shortEdgeLength">INPUT.MIN_SIZE_TEST; 0 keeps the image size, as in Detectron2</param>
    /// <param name="maxSize">INPUT.MAX_SIZE_TEST: the longer side is capped at this</param>
    /// <param name="inputFormat">INPUT.FORMAT: "BGR" (Detectron2's default) or "RGB"</param>
    public ImagePreprocessor(int shortEdgeLength, int maxSize, string inputFormat = "BGR")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(shortEdgeLength);
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        // DefaultPredictor accepts only these two; the model's PIXEL_MEAN is in the same order.
        if (inputFormat is not ("BGR" or "RGB"))
            throw new ConfigException($"INPUT.FORMAT '{inputFormat}' is not supported for prediction; use BGR or RGB.");
        ShortEdgeLength = shortEdgeLength;
        MaxSize = maxSize;
        InputFormat = inputFormat;
    }

    /// <summary>DefaultPredictor's transform: ResizeShortestEdge([MIN_SIZE_TEST, MIN_SIZE_TEST], MAX_SIZE_TEST) and INPUT.FORMAT.</summary>
    public static ImagePreprocessor FromConfig(CfgNode cfg) =>
        new(cfg.Get<int>("INPUT.MIN_SIZE_TEST"), cfg.Get<int>("INPUT.MAX_SIZE_TEST"), cfg.Get<string>("INPUT.FORMAT"));

    public int ShortEdgeLength { get; }

    public int MaxSize { get; }

    public string InputFormat { get; }

    /// <summary>ResizeShortestEdge.get_output_shape: scale the short side to <paramref name="shortEdgeLength"/>, cap the
    /// long side at <paramref name="maxSize"/>, round each side with int(x + 0.5).</summary>
    public static (int Height, int Width) GetOutputShape(int height, int width, int shortEdgeLength, int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        // 0 keeps the size, as Detectron2's ResizeShortestEdge does; otherwise the data pipeline's rule.
        return shortEdgeLength == 0 ? (height, width) : ResizeShortestEdge.GetOutputShape(height, width, shortEdgeLength, maxSize);
    }

    /// <summary>Training's decoder (<see cref="ImageDecoder.DecodeRgba"/>, so there is no train/serve skew), as a bitmap for drawing.</summary>
    public SKBitmap Decode(ReadOnlySpan<byte> imageBytes)
    {
        byte[] rgba;
        int height, width;
        try
        {
            (rgba, height, width) = ImageDecoder.DecodeRgba(imageBytes, "the image");
        }
        catch (ImageDecodeException e)
        {
            throw new InvalidImageException(e.Message, e);
        }
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    public PreprocessedImage Preprocess(SKBitmap image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (height, width) = (image.Height, image.Width);
        if (height <= 0 || width <= 0)
            throw new InvalidImageException($"The image has no pixels ({width}x{height}).");
        var rgba = ReadRgba(image);
        // HWC bytes in INPUT.FORMAT order, as DefaultPredictor holds the image before its transform.
        var buffer = new ImageBuffer(ImageDecoder.ToChannels(rgba, height, width, InputFormat), height, width, 3);
        var (newHeight, newWidth) = GetOutputShape(height, width, ShortEdgeLength, MaxSize);
        // Detectron2 fails here too (PIL cannot resize to 0 pixels): past about MAX_SIZE_TEST * 2 : 1 the short side rounds to 0.
        if (newHeight <= 0 || newWidth <= 0)
            throw new InvalidImageException(
                $"The image's aspect ratio ({width}x{height}) is too extreme: the test-time resize (INPUT.MIN_SIZE_TEST {ShortEdgeLength}, " +
                $"INPUT.MAX_SIZE_TEST {MaxSize}) would make it {newWidth}x{newHeight} pixels. The longer side may be at most about {2 * MaxSize} times the shorter.");
        // Pillow returns a copy when the size is unchanged, so skipping is exact.
        if (newHeight != height || newWidth != width)
            buffer = PilResize.Bilinear(buffer, newHeight, newWidth);
        return new PreprocessedImage(buffer.ToFloatTensor(), height, width);
    }

    /// <summary>The pixels as RGBA8888 with alpha left unapplied; PIL's convert("RGB") then simply drops the alpha.</summary>
    internal static byte[] ReadRgba(SKBitmap image)
    {
        var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new byte[info.BytesSize];
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        try
        {
            using var pixmap = image.PeekPixels();
            if (pixmap is null || !pixmap.ReadPixels(info, handle.AddrOfPinnedObject(), info.RowBytes))
                throw new InvalidImageException($"The {image.ColorType} image ({image.Width}x{image.Height}) cannot be converted to RGB.");
        }
        finally
        {
            handle.Free();
        }
        return pixels;
    }
}
