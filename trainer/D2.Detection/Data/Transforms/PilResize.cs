namespace D2.Detection.Data.Transforms;

/// <summary>
/// Pillow's <c>Image.resize</c> for 8-bit images, which Detectron2's <c>ResizeTransform</c> calls: BILINEAR for images
/// and NEAREST for masks. Reproduced step for step (libImaging Resample.c and Geometry.c) so that resized pixels are the
/// bytes Detectron2 trains on, not merely close: a plain 2x2 bilinear or torch's interpolate would alias on downscale.
/// </summary>
internal static class PilResize
{
    // Pillow's fixed-point precision for 8-bit results: 32 bits less 8 for the value and 2 for overflow.
    const int PrecisionBits = 32 - 8 - 2;

    /// <summary>
    /// BILINEAR: a separable triangle filter whose support widens with the downscale factor (antialiased), done as a
    /// horizontal pass then a vertical pass with 8-bit rounding in between, as Pillow does.
    /// </summary>
    public static ImageBuffer Bilinear(ImageBuffer source, int newHeight, int newWidth)
    {
        CheckSize(newHeight, newWidth);
        if (newHeight == source.Height && newWidth == source.Width) return Copy(source);
        var needHorizontal = newWidth != source.Width;
        var needVertical = newHeight != source.Height;
        var (boundsV, kernelV, ksizeV) = Coefficients(source.Height, newHeight);
        var image = source;
        if (needHorizontal)
        {
            // Only the rows the vertical pass will read are resampled horizontally.
            var first = boundsV[0];
            var last = boundsV[(newHeight - 1) * 2] + boundsV[(newHeight - 1) * 2 + 1];
            for (var i = 0; i < newHeight; i++) boundsV[i * 2] -= first;
            var (boundsH, kernelH, ksizeH) = Coefficients(source.Width, newWidth);
            image = Horizontal(source, first, last - first, newWidth, boundsH, kernelH, ksizeH);
        }
        if (needVertical) image = Vertical(image, newHeight, boundsV, kernelV, ksizeV);
        return image;
    }

    /// <summary>
    /// NEAREST (Pillow's affine scale): output column x reads source column floor(x0 + (x + 0.5) * W / newW), with the
    /// position accumulated step by step in double as Pillow does, so rounding at exact halves matches.
    /// </summary>
    public static ImageBuffer Nearest(ImageBuffer source, int newHeight, int newWidth)
    {
        CheckSize(newHeight, newWidth);
        if (newHeight == source.Height && newWidth == source.Width) return Copy(source);
        int channels = source.Channels, width = source.Width, height = source.Height;
        var stepX = (double)width / newWidth;
        var stepY = (double)height / newHeight;
        var columns = new int[newWidth];
        var position = stepX * 0.5;
        for (var x = 0; x < newWidth; x++, position += stepX)
            columns[x] = position < 0.0 ? -1 : (int)position;
        var output = new byte[(long)newHeight * newWidth * channels];
        position = stepY * 0.5;
        for (var y = 0; y < newHeight; y++, position += stepY)
        {
            var row = position < 0.0 ? -1 : (int)position;
            if (row < 0 || row >= height) continue; // Pillow fills what falls outside the source with 0
            for (var x = 0; x < newWidth; x++)
            {
                var column = columns[x];
                if (column < 0 || column >= width) continue;
                Array.Copy(source.Pixels, ((long)row * width + column) * channels, output, ((long)y * newWidth + x) * channels, channels);
            }
        }
        return new ImageBuffer(output, newHeight, newWidth, channels);
    }

    static void CheckSize(int newHeight, int newWidth)
    {
        if (newHeight <= 0 || newWidth <= 0)
            throw new ArgumentOutOfRangeException(nameof(newHeight), $"Cannot resize to {newHeight}x{newWidth}; both sides must be positive.");
    }

    static ImageBuffer Copy(ImageBuffer source) => new((byte[])source.Pixels.Clone(), source.Height, source.Width, source.Channels);

    static double Triangle(double x)
    {
        if (x < 0.0) x = -x;
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    /// <summary>Pillow's precompute_coeffs + normalize_coeffs_8bpc for the whole source extent [0, inSize].</summary>
    /// <returns>per output index (first source index, tap count); ksize fixed-point taps per output index</returns>
    static (int[] Bounds, int[] Kernel, int KSize) Coefficients(int inSize, int outSize)
    {
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = 1.0 * filterScale; // BILINEAR's support is 1, widened by the downscale factor
        var ksize = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[outSize * 2];
        var kernel = new int[outSize * ksize];
        var weights = new double[ksize];
        for (var xx = 0; xx < outSize; xx++)
        {
            var center = (xx + 0.5) * scale;
            var ss = 1.0 / filterScale;
            var xmin = Math.Max((int)(center - support + 0.5), 0);
            var xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            var sum = 0.0;
            for (var x = 0; x < xmax; x++)
            {
                weights[x] = Triangle((x + xmin - center + 0.5) * ss);
                sum += weights[x];
            }
            for (var x = 0; x < xmax; x++)
            {
                var w = sum != 0.0 ? weights[x] / sum : weights[x];
                kernel[xx * ksize + x] = w < 0 ? (int)(-0.5 + w * (1 << PrecisionBits)) : (int)(0.5 + w * (1 << PrecisionBits));
            }
            bounds[xx * 2] = xmin;
            bounds[xx * 2 + 1] = xmax;
        }
        return (bounds, kernel, ksize);
    }

    // Pillow's clip8: the fixed-point sum shifted down (arithmetic shift), clamped to a byte.
    static byte Clip8(int value) => (byte)Math.Clamp(value >> PrecisionBits, 0, 255);

    static ImageBuffer Horizontal(ImageBuffer source, int firstRow, int rows, int newWidth, int[] bounds, int[] kernel, int ksize)
    {
        int channels = source.Channels, width = source.Width;
        var input = source.Pixels;
        var output = new byte[(long)rows * newWidth * channels];
        for (var yy = 0; yy < rows; yy++)
        {
            var rowStart = (long)(yy + firstRow) * width * channels;
            for (var xx = 0; xx < newWidth; xx++)
            {
                int xmin = bounds[xx * 2], xmax = bounds[xx * 2 + 1], k = xx * ksize;
                for (var c = 0; c < channels; c++)
                {
                    var sum = 1 << (PrecisionBits - 1);
                    var index = rowStart + (long)xmin * channels + c;
                    for (var x = 0; x < xmax; x++, index += channels) sum += input[index] * kernel[k + x];
                    output[((long)yy * newWidth + xx) * channels + c] = Clip8(sum);
                }
            }
        }
        return new ImageBuffer(output, rows, newWidth, channels);
    }

    static ImageBuffer Vertical(ImageBuffer source, int newHeight, int[] bounds, int[] kernel, int ksize)
    {
        int channels = source.Channels, width = source.Width;
        var input = source.Pixels;
        var rowStride = (long)width * channels;
        var output = new byte[newHeight * rowStride];
        // Row by row (integer sums are exact, so the order of the taps does not change the result).
        var sums = new int[rowStride];
        for (var yy = 0; yy < newHeight; yy++)
        {
            int ymin = bounds[yy * 2], ymax = bounds[yy * 2 + 1], k = yy * ksize;
            Array.Fill(sums, 1 << (PrecisionBits - 1));
            for (var y = 0; y < ymax; y++)
            {
                var weight = kernel[k + y];
                var row = input.AsSpan((int)((ymin + y) * rowStride), (int)rowStride);
                for (var i = 0; i < row.Length; i++) sums[i] += row[i] * weight;
            }
            var target = output.AsSpan((int)(yy * rowStride), (int)rowStride);
            for (var i = 0; i < target.Length; i++) target[i] = Clip8(sums[i]);
        }
        return new ImageBuffer(output, newHeight, width, channels);
    }
}
