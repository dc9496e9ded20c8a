using SkiaSharp;
using static TorchSharp.torch;

namespace D2.Detection.Data;

/// <summary>
/// Detectron2's <c>read_image</c> (spec §3 step 1): decode a JPEG or PNG, turn it upright by its EXIF orientation,
/// convert to 8-bit RGB (alpha dropped, greyscale replicated, as PIL's <c>convert("RGB")</c>) and order the channels
/// as INPUT.FORMAT says ("BGR", Detectron2's default, or "RGB").
/// </summary>
public static class ImageDecoder
{
    /// <summary>Reads <paramref name="path"/> into a (3, H, W) uint8 tensor in <paramref name="format"/> channel order.</summary>
    /// <exception cref="ImageDecodeException">the file is missing, unreadable, not an image, corrupt or truncated</exception>
    public static Tensor Read(string path, string format = "BGR")
    {
        var image = ReadImage(path, format);
        return image.ToTensor();
    }

    /// <summary>Reads <paramref name="path"/> into an HWC buffer (3 channels, <paramref name="format"/> order).</summary>
    /// <exception cref="ImageDecodeException">the file is missing, unreadable, not an image, corrupt or truncated</exception>
    public static ImageBuffer ReadImage(string path, string format = "BGR")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckFormat(format);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ImageDecodeException(path, "the file does not exist.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(path, $"the file cannot be opened ({e.Message}).", e);
        }
        return Decode(bytes, format, path);
    }

    /// <summary>
    /// PIL's <c>Image.MAX_IMAGE_PIXELS</c> (89,478,485, a 0.25 GB RGBA image): the largest image, in pixels, any decoder
    /// here expands. Checked against the header before a pixel buffer exists, so a small file claiming 30000x30000 (a
    /// decompression bomb) costs nothing. D2_MAX_IMAGE_PIXELS changes it for training, evaluation and serving alike.
    /// </summary>
    public const long DefaultMaxImagePixels = 89_478_485;

    static readonly Lazy<long> ConfiguredMaxImagePixels = new(() => ReadMaxImagePixels(Environment.GetEnvironmentVariable("D2_MAX_IMAGE_PIXELS")));

    /// <summary>The pixel limit in force: D2_MAX_IMAGE_PIXELS when set, else <see cref="DefaultMaxImagePixels"/>.</summary>
    /// <exception cref="ArgumentException">D2_MAX_IMAGE_PIXELS is not a positive integer</exception>
    public static long MaxImagePixels => ConfiguredMaxImagePixels.Value;

    /// <exception cref="ArgumentException">the text is set but not a positive integer</exception>
    public static long ReadMaxImagePixels(string? text) =>
        string.IsNullOrWhiteSpace(text) ? DefaultMaxImagePixels
        : long.TryParse(text.Trim(), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0 ? value
        : throw new ArgumentException($"D2_MAX_IMAGE_PIXELS must be a positive integer (pixels), not '{text}'.");

    /// <summary>Decodes encoded image bytes (JPEG, PNG, or anything else SkiaSharp reads) into an HWC buffer.</summary>
    /// <param name="sourceName">what to call the bytes in errors (a file name, "request body")</param>
    /// <exception cref="ImageDecodeException">the bytes are not a complete image, or it has more than <see cref="MaxImagePixels"/> pixels</exception>
    public static ImageBuffer Decode(ReadOnlySpan<byte> bytes, string format, string sourceName)
    {
        CheckFormat(format);
        var (rgba, height, width) = DecodeRgba(bytes, sourceName);
        return new ImageBuffer(ToChannels(rgba, height, width, format), height, width, 3);
    }

    /// <summary>HWC bytes in INPUT.FORMAT order (RGB or BGR) from RGBA pixels: the one packing training and serving share.</summary>
    internal static byte[] ToChannels(byte[] rgba, int height, int width, string format)
    {
        var reverse = format == "BGR";
        var pixels = new byte[(long)width * height * 3];
        for (long p = 0, q = 0; p < pixels.LongLength; p += 3, q += 4)
        {
            pixels[p] = rgba[reverse ? q + 2 : q];
            pixels[p + 1] = rgba[q + 1];
            pixels[p + 2] = rgba[reverse ? q : q + 2];
        }
        return pixels;
    }

    /// <summary>
    /// The one decoding path of training, evaluation and serving: upright (EXIF orientation applied) RGBA8888 pixels with
    /// alpha unapplied, so that dropping the alpha is PIL's <c>convert("RGB")</c>.
    /// </summary>
    /// <param name="maxPixels">the pixel limit (default <see cref="MaxImagePixels"/>)</param>
    /// <exception cref="ImageDecodeException">not a complete image, or too many pixels</exception>
    public static (byte[] Rgba, int Height, int Width) DecodeRgba(ReadOnlySpan<byte> bytes, string sourceName, long? maxPixels = null)
    {
        if (bytes.IsEmpty) throw new ImageDecodeException(sourceName, "the file is empty.");
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new ImageDecodeException(sourceName, "it is not an image in a format that can be decoded (JPEG, PNG, BMP, GIF, WebP) or its header is corrupt.");
        int width = codec.Info.Width, height = codec.Info.Height;
        if (width <= 0 || height <= 0) throw new ImageDecodeException(sourceName, $"its header gives an empty size {width}x{height}.");
        var limit = maxPixels ?? MaxImagePixels;
        if ((long)width * height > limit)
            throw new ImageDecodeException(sourceName,
                $"its header says {width}x{height} = {(long)width * height:N0} pixels, over the limit of {limit:N0} (D2_MAX_IMAGE_PIXELS; PIL's MAX_IMAGE_PIXELS); this could be a decompression bomb.");
        // No colour space on the target: pixels come as stored, without an ICC conversion (PIL ignores ICC profiles too).
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        // Uninitialised: a header that lies about the size costs address space, not resident memory, when decoding stops early.
        var rgba = GC.AllocateUninitializedArray<byte>(checked((int)info.BytesSize64));
        var result = codec.GetPixels(info, rgba);
        // PIL refuses truncated files too (LOAD_TRUNCATED_IMAGES is off in Detectron2).
        if (result == SKCodecResult.IncompleteInput)
            throw new ImageDecodeException(sourceName, "the file is truncated (the decoder ran out of data before the last row).");
        if (result != SKCodecResult.Success)
            throw new ImageDecodeException(sourceName, $"decoding failed ({result}); the file is corrupt.");
        var origin = codec.EncodedOrigin is 0 ? SKEncodedOrigin.TopLeft : codec.EncodedOrigin;
        var (upright, h, w) = ExifOrientation.Apply(rgba, height, width, 4, origin);
        return (upright, h, w);
    }

    /// <summary>
    /// Detectron2's <c>check_image_size</c>: the decoded (upright) image must have the record's width and height, or the
    /// annotations would not fit it. A record with no size (0) takes the image's.
    /// </summary>
    /// <exception cref="ImageDecodeException">the sizes differ</exception>
    public static void CheckImageSize(DatasetRecord record, ImageBuffer image)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(image);
        if (record.Width <= 0 && record.Height <= 0) return;
        if (record.Width != image.Width || record.Height != image.Height)
            throw new ImageDecodeException(record.FileName,
                $"mismatched image shape, got (W, H) = ({image.Width}, {image.Height}), expect ({record.Width}, {record.Height}). " +
                "Please check the width/height in your annotation.");
    }

    /// <summary>Rejects formats other than the two this port reads (Detectron2 also has "L" and YUV, which the models here do not use).</summary>
    public static void CheckFormat(string format)
    {
        if (format is not ("BGR" or "RGB"))
            throw new ArgumentException($"INPUT.FORMAT '{format}' is not supported; use \"BGR\" (Detectron2's default) or \"RGB\".", nameof(format));
    }
}
