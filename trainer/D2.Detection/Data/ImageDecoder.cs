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

    /// <summary>Decodes encoded image bytes (JPEG, PNG, or anything else SkiaSharp reads) into an HWC buffer.</summary>
    /// <param name="sourceName">what to call the bytes in errors (a file name, "request body")</param>
    /// <exception cref="ImageDecodeException">the bytes are not a complete image</exception>
    public static ImageBuffer Decode(ReadOnlySpan<byte> bytes, string format, string sourceName)
    {
        CheckFormat(format);
        if (bytes.IsEmpty) throw new ImageDecodeException(sourceName, "the file is empty.");
        using var data = SKData.CreateCopy(bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new ImageDecodeException(sourceName, "it is not an image in a format that can be decoded (JPEG, PNG, ...) or its header is corrupt.");
        int width = codec.Info.Width, height = codec.Info.Height;
        if (width <= 0 || height <= 0) throw new ImageDecodeException(sourceName, $"its header gives an empty size {width}x{height}.");
        // No colour space on the target: pixels come as stored, without an ICC conversion (PIL ignores ICC profiles too).
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize64];
        var result = codec.GetPixels(info, rgba);
        if (result == SKCodecResult.IncompleteInput)
            throw new ImageDecodeException(sourceName, "the file is truncated (the decoder ran out of data before the last row).");
        if (result != SKCodecResult.Success)
            throw new ImageDecodeException(sourceName, $"decoding failed ({result}); the file is corrupt.");

        var reverse = format == "BGR";
        var pixels = new byte[(long)width * height * 3];
        for (long p = 0, q = 0; p < pixels.Length; p += 3, q += 4)
        {
            pixels[p] = rgba[reverse ? q + 2 : q];
            pixels[p + 1] = rgba[q + 1];
            pixels[p + 2] = rgba[reverse ? q : q + 2];
        }
        var (upright, h, w) = ExifOrientation.Apply(pixels, height, width, 3, codec.EncodedOrigin);
        return new ImageBuffer(upright, h, w, 3);
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
