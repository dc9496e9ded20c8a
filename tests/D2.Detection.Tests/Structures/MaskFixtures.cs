namespace D2.Detection.Tests.Structures;

/// <summary>Seeded masks and brute-force pixel references shared by the RLE tests (independent of the code under test).</summary>
internal static class MaskFixtures
{
    /// <summary>A row-major h*w 0/1 mask: either scattered noise or a blob, so both short and long runs occur.</summary>
    public static byte[] RandomMask(Random random, int height, int width)
    {
        var mask = new byte[height * width];
        var density = random.NextDouble();
        var blob = random.Next(2) == 0;
        double cx = random.NextDouble() * width, cy = random.NextDouble() * height;
        double rx = 1 + random.NextDouble() * width / 2, ry = 1 + random.NextDouble() * height / 2;
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            var on = blob
                ? Math.Pow((x + 0.5 - cx) / rx, 2) + Math.Pow((y + 0.5 - cy) / ry, 2) < 1
                : random.NextDouble() < density;
            mask[y * width + x] = on ? (byte)1 : (byte)0;
        }
        return mask;
    }

    public static long CountOn(byte[] mask) => mask.Count(v => v != 0);

    public static long CountBoth(byte[] a, byte[] b) => a.Zip(b).Count(p => p.First != 0 && p.Second != 0);

    public static long CountEither(byte[] a, byte[] b) => a.Zip(b).Count(p => p.First != 0 || p.Second != 0);

    /// <summary>[x, y, w, h] of the on pixels of a row-major mask, zeros when empty.</summary>
    public static double[] PixelBbox(byte[] mask, int height, int width)
    {
        int x0 = width, y0 = height, x1 = -1, y1 = -1;
        for (var y = 0; y < height; y++)
        for (var x = 0; x < width; x++)
        {
            if (mask[y * width + x] == 0) continue;
            x0 = Math.Min(x0, x);
            x1 = Math.Max(x1, x);
            y0 = Math.Min(y0, y);
            y1 = Math.Max(y1, y);
        }
        return x1 < 0 ? new double[4] : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
    }

    /// <summary>Even-odd test of a point against a closed polygon (x0, y0, x1, y1, ...).</summary>
    public static bool Inside(IReadOnlyList<double> xy, double px, double py)
    {
        var inside = false;
        var n = xy.Count / 2;
        for (int i = 0, j = n - 1; i < n; j = i++)
        {
            double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
            if ((yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi) inside = !inside;
        }
        return inside;
    }

    /// <summary>Distance from a point to the nearest edge of a closed polygon.</summary>
    public static double DistanceToBoundary(IReadOnlyList<double> xy, double px, double py)
    {
        var best = double.PositiveInfinity;
        var n = xy.Count / 2;
        for (int i = 0, j = n - 1; i < n; j = i++)
        {
            double ax = xy[2 * j], ay = xy[2 * j + 1], bx = xy[2 * i], by = xy[2 * i + 1];
            double dx = bx - ax, dy = by - ay, length2 = dx * dx + dy * dy;
            var t = length2 == 0 ? 0 : Math.Clamp(((px - ax) * dx + (py - ay) * dy) / length2, 0, 1);
            best = Math.Min(best, Math.Sqrt(Math.Pow(px - ax - t * dx, 2) + Math.Pow(py - ay - t * dy, 2)));
        }
        return best;
    }

    /// <summary>Vertices snapped to the 1/5-pixel grid the COCO rasteriser works on (spec §14.4).</summary>
    public static double[] SnapToFifths(IReadOnlyList<double> xy) => xy.Select(v => Math.Floor(5 * v + 0.5) / 5).ToArray();

    /// <summary>Row-major picture of a mask, one string per row ('#' on), for readable expectations.</summary>
    public static string[] Picture(byte[] mask, int height, int width) =>
        Enumerable.Range(0, height)
            .Select(y => new string(Enumerable.Range(0, width).Select(x => mask[y * width + x] != 0 ? '#' : '.').ToArray()))
            .ToArray();

    public static byte[] FromPicture(params string[] rows) =>
        rows.SelectMany(r => r.Select(c => c == '#' ? (byte)1 : (byte)0)).ToArray();
}
