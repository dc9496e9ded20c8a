namespace D2.Detection.Tests.Postprocessing;

/// <summary>
/// Mask pasting written straight from the spec (§15.2) in float64, pixel by pixel over the whole image: pixel (x, y)
/// samples the M x M mask at u = ((x + 0.5) - x0) / (x1 - x0) * 2 - 1 (v likewise) with bilinear interpolation,
/// align_corners = false (u = -1 is the mask's left edge) and zeros outside the mask.
/// </summary>
internal static class PasteMaskReference
{
    /// <returns>[y, x] sampled probability</returns>
    public static double[,] Sample(double[,] mask, double x0, double y0, double x1, double y1, int height, int width)
    {
        var size = mask.GetLength(0);
        var result = new double[height, width];
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width; x++)
            {
                var u = (x + 0.5 - x0) / (x1 - x0) * 2 - 1;
                var v = (y + 0.5 - y0) / (y1 - y0) * 2 - 1;
                // align_corners = false: -1 and 1 are the outer edges of the border cells, whose centres sit at 0 and M - 1.
                var column = ((u + 1) * size - 1) / 2;
                var row = ((v + 1) * size - 1) / 2;
                result[y, x] = Bilinear(mask, row, column);
            }
        return result;
    }

    static double Bilinear(double[,] mask, double row, double column)
    {
        var size = mask.GetLength(0);
        var r0 = (int)Math.Floor(row);
        var c0 = (int)Math.Floor(column);
        double fr = row - r0, fc = column - c0;
        double At(int r, int c) => r >= 0 && r < size && c >= 0 && c < size ? mask[r, c] : 0.0;
        return (1 - fr) * ((1 - fc) * At(r0, c0) + fc * At(r0, c0 + 1))
            + fr * ((1 - fc) * At(r0 + 1, c0) + fc * At(r0 + 1, c0 + 1));
    }
}
