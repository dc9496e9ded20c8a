using SkiaSharp;

namespace D2.Detection.Data;

/// <summary>
/// Detectron2's <c>_apply_exif_orientation</c>: EXIF tag 274 says how the stored pixels must be turned to look upright,
/// and Detectron2 applies it (through PIL's transpose) before anything else, so boxes annotated on the upright image fit.
/// </summary>
internal static class ExifOrientation
{
    /// <summary>
    /// The upright HWC image of <paramref name="source"/> (stored pixels, <paramref name="channels"/> interleaved).
    /// PIL names per tag: 2 FLIP_LEFT_RIGHT, 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE,
    /// 8 ROTATE_90 (PIL rotates counter-clockwise, so ROTATE_270 turns the picture a quarter clockwise).
    /// </summary>
    /// <returns>the pixels and the upright size; tags 5 to 8 swap height and width</returns>
    public static (byte[] Pixels, int Height, int Width) Apply(byte[] source, int height, int width, int channels, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft) return (source, height, width);
        int h = height - 1, w = width - 1;
        // The stored pixel (sr, sc) that lands at upright (r, c) is affine in r and c:
        // sr = sr0 + srR * r + srC * c, sc = sc0 + scR * r + scC * c.
        var (sr0, srR, srC, sc0, scR, scC) = origin switch
        {
            SKEncodedOrigin.TopRight => (0, 1, 0, w, 0, -1),      // 2: mirror left-right
            SKEncodedOrigin.BottomRight => (h, -1, 0, w, 0, -1),  // 3: rotate 180
            SKEncodedOrigin.BottomLeft => (h, -1, 0, 0, 0, 1),    // 4: mirror top-bottom
            SKEncodedOrigin.LeftTop => (0, 0, 1, 0, 1, 0),        // 5: transpose (main diagonal)
            SKEncodedOrigin.RightTop => (h, 0, -1, 0, 1, 0),      // 6: a quarter turn clockwise
            SKEncodedOrigin.RightBottom => (h, 0, -1, w, -1, 0),  // 7: transverse (anti-diagonal)
            SKEncodedOrigin.LeftBottom => (0, 0, 1, w, -1, 0),    // 8: a quarter turn counter-clockwise
            _ => throw new ArgumentOutOfRangeException(nameof(origin), origin, "Unknown EXIF orientation."),
        };
        var swaps = srC != 0;
        int outH = swaps ? width : height, outW = swaps ? height : width;
        var result = new byte[source.Length];
        long step = ((long)srC * width + scC) * channels;
        long target = 0;
        for (var r = 0; r < outH; r++)
        {
            long index = ((long)(sr0 + srR * r) * width + sc0 + scR * r) * channels;
            for (var c = 0; c < outW; c++, index += step)
            {
                for (var k = 0; k < channels; k++) result[target++] = source[index + k];
            }
        }
        return (result, outH, outW);
    }
}
