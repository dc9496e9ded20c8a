using SkiaSharp;

namespace D2.Detection.Tests.DataPipeline;

/// <summary>Images for the data pipeline tests, made at test time with SkiaSharp (RGB bytes in HWC order).</summary>
internal static class ImageFixtures
{
    /// <summary>Encodes RGB HWC bytes as PNG (lossless) or JPEG (quality 100, 4:2:0 as Skia writes it).</summary>
    public static byte[] Encode(byte[] rgb, int height, int width, SKEncodedImageFormat format)
    {
        var rgba = new byte[height * width * 4];
        for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4)
        {
            rgba[q] = rgb[p];
            rgba[q + 1] = rgb[p + 1];
            rgba[q + 2] = rgb[p + 2];
            rgba[q + 3] = 255;
        }
        using var image = SKImage.FromPixelCopy(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), rgba);
        using var data = image.Encode(format, 100);
        return data.ToArray();
    }

    /// <summary>A height x width RGB image filled by <paramref name="colour"/>(y, x).</summary>
    public static byte[] Paint(int height, int width, Func<int, int, (byte R, byte G, byte B)> colour)
    {
        var rgb = new byte[height * width * 3];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = colour(y, x);
                var i = (y * width + x) * 3;
                (rgb[i], rgb[i + 1], rgb[i + 2]) = (r, g, b);
            }
        }
        return rgb;
    }

    /// <summary>A reproducible noise image (every pixel different enough that any misplacement shows).</summary>
    public static byte[] Noise(int height, int width, int seed)
    {
        var random = new Random(seed);
        var rgb = new byte[height * width * 3];
        random.NextBytes(rgb);
        return rgb;
    }

    /// <summary>
    /// The JPEG with a minimal APP1 Exif segment right after SOI: a big-endian TIFF header and one IFD entry, tag 274
    /// (Orientation), type SHORT, count 1. SkiaSharp cannot write EXIF, so the segment is spliced in by hand.
    /// </summary>
    public static byte[] WithExifOrientation(byte[] jpeg, int orientation)
    {
        if (jpeg[0] != 0xFF || jpeg[1] != 0xD8) throw new ArgumentException("Not a JPEG (no SOI marker).", nameof(jpeg));
        byte[] payload =
        [
            (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'M', (byte)'M', 0, 0x2A, 0, 0, 0, 8,        // TIFF header: big-endian, first IFD at offset 8
            0, 1,                                              // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, // tag 274, SHORT, count 1, value (left-justified)
            0, 0, 0, 0,                                        // no next IFD
        ];
        var length = payload.Length + 2;
        byte[] segment = [0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. payload];
        return [.. jpeg.AsSpan(0, 2), .. segment, .. jpeg.AsSpan(2)];
    }

    /// <summary>
    /// The upright picture of <paramref name="rgb"/> for an EXIF orientation, drawn by Skia's canvas through the affine
    /// map of continuous coordinates the EXIF standard describes (independent of the decoder's index arithmetic).
    /// </summary>
    public static (byte[] Rgb, int Height, int Width) OrientWithCanvas(byte[] rgb, int height, int width, int orientation)
    {
        float w = width, h = height;
        // x' = a x + b y + c, y' = d x + e y + f for points of the stored image.
        var (a, b, c, d, e, f) = orientation switch
        {
            1 => (1f, 0f, 0f, 0f, 1f, 0f),
            2 => (-1f, 0f, w, 0f, 1f, 0f),   // mirrored left-right
            3 => (-1f, 0f, w, 0f, -1f, h),   // turned 180 degrees
            4 => (1f, 0f, 0f, 0f, -1f, h),   // mirrored top-bottom
            5 => (0f, 1f, 0f, 1f, 0f, 0f),   // transposed
            6 => (0f, -1f, h, 1f, 0f, 0f),   // stored turned a quarter counter-clockwise: turn clockwise
            7 => (0f, -1f, h, -1f, 0f, w),   // transverse
            8 => (0f, 1f, 0f, -1f, 0f, w),   // stored turned a quarter clockwise: turn counter-clockwise
            _ => throw new ArgumentOutOfRangeException(nameof(orientation)),
        };
        var swaps = orientation >= 5;
        int outH = swaps ? width : height, outW = swaps ? height : width;
        var rgba = new byte[height * width * 4];
        for (int p = 0, q = 0; p < rgb.Length; p += 3, q += 4)
            (rgba[q], rgba[q + 1], rgba[q + 2], rgba[q + 3]) = (rgb[p], rgb[p + 1], rgb[p + 2], 255);
        using var source = SKImage.FromPixelCopy(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), rgba);
        using var target = new SKBitmap(new SKImageInfo(outW, outH, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        using (var canvas = new SKCanvas(target))
        {
            canvas.SetMatrix(new SKMatrix(a, b, c, d, e, f, 0, 0, 1));
            using var paint = new SKPaint { BlendMode = SKBlendMode.Src };
            canvas.DrawImage(source, 0, 0, new SKSamplingOptions(SKFilterMode.Nearest), paint);
        }
        var outRgba = target.Bytes;
        var result = new byte[outH * outW * 3];
        for (int p = 0, q = 0; p < result.Length; p += 3, q += 4)
            (result[p], result[p + 1], result[p + 2]) = (outRgba[q], outRgba[q + 1], outRgba[q + 2]);
        return (result, outH, outW);
    }
}

/// <summary>A fresh folder under the temp directory, deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "d2-data-" + Guid.NewGuid().ToString("N"));

    public string Write(string name, byte[] bytes)
    {
        var file = System.IO.Path.Combine(Path, name);
        File.WriteAllBytes(file, bytes);
        return file;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
