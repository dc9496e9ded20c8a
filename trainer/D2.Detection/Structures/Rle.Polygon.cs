namespace D2.Detection.Structures;

/// <summary>Polygon and box rasterisation with pycocotools' rleFrPoly rule (spec §14.4).</summary>
public sealed partial class Rle
{
    // rleFrPoly traces the boundary on a grid 5x finer than the pixels.
    const double PolygonUpsample = 5;
    const double MaxPolygonCoordinate = 1e8;

    /// <summary>pycocotools rleFrBbox: the box [x, y, w, h] rasterised as the polygon of its four corners.</summary>
    public static Rle FromBbox(double x, double y, double w, double h, int height, int width)
    {
        double xe = x + w, ye = y + h;
        return FromPolygon([x, y, x, ye, xe, ye, xe, y], height, width);
    }

    /// <summary>
    /// pycocotools rleFrPoly for one polygon x0,y0,x1,y1,...: a pixel is on when its centre lies inside the polygon
    /// (even-odd), with vertices snapped to a 1/5-pixel grid.
    /// </summary>
    public static Rle FromPolygon(IReadOnlyList<double> xy, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(xy);
        if (height < 0 || width < 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"Mask size {height}x{width} must not be negative.");
        if (xy.Count % 2 != 0)
            throw new ArgumentException($"A polygon needs x,y pairs but has {xy.Count} coordinates.", nameof(xy));
        for (var i = 0; i < xy.Count; i++)
        {
            // Beyond this the 5x grid overflows int (undefined behaviour in the C code).
            if (!double.IsFinite(xy[i]) || Math.Abs(xy[i]) > MaxPolygonCoordinate)
                throw new ArgumentException(
                    $"Polygon coordinate {i} is {xy[i]}; coordinates must be finite and within +-{MaxPolygonCoordinate:g}.", nameof(xy));
        }
        var pixels = (uint)((ulong)height * (ulong)width);
        var k = xy.Count / 2;
        if (k == 0 || pixels == 0) return new Rle(height, width, [pixels], validate: false);

        var (u, v) = TraceBoundary(xy, k);
        var toggles = ColumnCrossings(u, v, height, width);
        return new Rle(height, width, TogglesToRuns(toggles, pixels), validate: true);
    }

    /// <summary>Rasterises each polygon and takes their union, as pycocotools frPyObjects followed by merge.</summary>
    public static Rle FromPolygons(IEnumerable<IReadOnlyList<double>> polygons, int height, int width)
    {
        ArgumentNullException.ThrowIfNull(polygons);
        var parts = polygons.Select(p => FromPolygon(p, height, width)).ToList();
        // Detectron2's polygons_to_bitmask gives an empty mask for an instance without polygons.
        if (parts.Count == 0)
            return new Rle(height, width, [(uint)((ulong)height * (ulong)width)], validate: true);
        return Merge(parts);
    }

    /// <summary>Every point on the 5x grid along the closed boundary, edge by edge (both ends included).</summary>
    static (int[] U, int[] V) TraceBoundary(IReadOnlyList<double> xy, int k)
    {
        var x = new int[k + 1];
        var y = new int[k + 1];
        for (var j = 0; j < k; j++)
        {
            // C's (int) cast truncates toward zero; C#'s does too (and saturates where C is undefined).
            x[j] = (int)(PolygonUpsample * xy[2 * j] + .5);
            y[j] = (int)(PolygonUpsample * xy[2 * j + 1] + .5);
        }
        x[k] = x[0];
        y[k] = y[0];

        long total = 0;
        for (var j = 0; j < k; j++) total += Math.Max(Math.Abs((long)x[j] - x[j + 1]), Math.Abs((long)y[j] - y[j + 1])) + 1;
        if (total > Array.MaxLength)
            throw new ArgumentException($"Polygon is too large to rasterise ({total} boundary points).", "xy");

        var u = new int[total];
        var v = new int[total];
        var m = 0;
        for (var j = 0; j < k; j++)
        {
            int xs = x[j], xe = x[j + 1], ys = y[j], ye = y[j + 1];
            int dx = Math.Abs(xe - xs), dy = Math.Abs(ys - ye);
            // Each edge is walked along its longer axis, always from its lower end, so that the rounding of the
            // other coordinate does not depend on the polygon's orientation.
            var flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
            if (flip)
            {
                (xs, xe) = (xe, xs);
                (ys, ye) = (ye, ys);
            }
            // A zero-length edge yields NaN in the C code; its single point never borders a column change, so 0 is equivalent.
            var slope = dx == 0 && dy == 0 ? 0.0 : dx >= dy ? (double)(ye - ys) / dx : (double)(xe - xs) / dy;
            if (dx >= dy)
            {
                for (var d = 0; d <= dx; d++)
                {
                    var t = flip ? dx - d : d;
                    u[m] = t + xs;
                    v[m] = (int)(ys + slope * t + .5);
                    m++;
                }
            }
            else
            {
                for (var d = 0; d <= dy; d++)
                {
                    var t = flip ? dy - d : d;
                    v[m] = t + ys;
                    u[m] = (int)(xs + slope * t + .5);
                    m++;
                }
            }
        }
        return (u, v);
    }

    /// <summary>
    /// Where the boundary crosses a pixel-centre column (x = i + 0.5 on the 5x grid), the first row whose centre lies
    /// below the crossing, as a column-major pixel index: each such index toggles the inside/outside state.
    /// </summary>
    static List<uint> ColumnCrossings(int[] u, int[] v, int height, int width)
    {
        var toggles = new List<uint>();
        for (var j = 1; j < u.Length; j++)
        {
            if (u[j] == u[j - 1]) continue;
            double xd = u[j] < u[j - 1] ? u[j] : u[j] - 1;
            xd = (xd + .5) / PolygonUpsample - .5;
            if (Math.Floor(xd) != xd || xd < 0 || xd > width - 1) continue;
            double yd = v[j] < v[j - 1] ? v[j] : v[j - 1];
            yd = (yd + .5) / PolygonUpsample - .5;
            if (yd < 0) yd = 0;
            else if (yd > height) yd = height;
            yd = Math.Ceiling(yd);
            toggles.Add(unchecked((uint)((int)xd * height + (int)yd)));
        }
        return toggles;
    }

    /// <summary>Sorted toggle positions to runs; two toggles at one position cancel (their empty run is folded).</summary>
    static uint[] TogglesToRuns(List<uint> toggles, uint pixels)
    {
        toggles.Add(pixels);
        toggles.Sort();
        var deltas = new uint[toggles.Count];
        uint previous = 0;
        for (var j = 0; j < deltas.Length; j++)
        {
            deltas[j] = toggles[j] - previous;
            previous = toggles[j];
        }
        var runs = new List<uint>(deltas.Length) { deltas[0] };
        var i = 1;
        while (i < deltas.Length)
        {
            if (deltas[i] > 0) runs.Add(deltas[i++]);
            else
            {
                // An empty run between two toggles: skip it and extend the previous run by the next one.
                i++;
                if (i < deltas.Length) runs[^1] += deltas[i++];
            }
        }
        return runs.ToArray();
    }
}
