using SkiaSharp;

namespace D2.Detection.Data.Synthetic;

/// <summary>
/// A region bounded by straight-edged contours, with the boolean operations the scene layout needs (clip to the
/// image, subtract what is drawn on top) done by Skia's path ops. The layout only accepts regions of one contour,
/// so that an instance is one polygon in both the COCO and the VIA json.
/// </summary>
internal sealed class PolygonRegion
{
    /// <summary>Contours smaller than this many square pixels are slivers left by the path ops, not visible parts.</summary>
    const double SliverArea = 1.0;

    PolygonRegion(IReadOnlyList<SKPoint[]> contours) => Contours = contours;

    public IReadOnlyList<SKPoint[]> Contours { get; }

    public double Area => Contours.Sum(c => Math.Abs(SignedArea(c)));

    public static PolygonRegion FromPolygon(SKPoint[] points) => new([points]);

    public static PolygonRegion Rectangle(float width, float height) => new([[new(0, 0), new(width, 0), new(width, height), new(0, height)]]);

    public PolygonRegion Intersect(PolygonRegion other) => Apply(other, SKPathOp.Intersect);

    public PolygonRegion Subtract(PolygonRegion other) => Apply(other, SKPathOp.Difference);

    PolygonRegion Apply(PolygonRegion other, SKPathOp op)
    {
        using var self = ToPath();
        using var operand = other.ToPath();
        using var result = self.Op(operand, op);
        // Skia gives up only on numerically hopeless input; an empty region makes the layout reject the placement.
        return result is null ? new([]) : FromPath(result);
    }

    public SKPath ToPath() => PathOf(Contours);

    public static SKPath PathOf(IEnumerable<SKPoint[]> contours)
    {
        using var builder = new SKPathBuilder();
        foreach (var contour in contours)
            builder.AddPoly(contour, close: true);
        return builder.Detach();
    }

    static PolygonRegion FromPath(SKPath path)
    {
        var contours = new List<SKPoint[]>();
        var current = new List<SKPoint>();
        var points = new SKPoint[4];
        using var iterator = path.CreateRawIterator();
        SKPathVerb verb;
        while ((verb = iterator.Next(points)) != SKPathVerb.Done)
        {
            switch (verb)
            {
                case SKPathVerb.Move:
                    Finish(current, contours);
                    current.Add(points[0]);
                    break;
                case SKPathVerb.Line:
                    current.Add(points[1]);
                    break;
                // Inputs are polygons, so curves do not occur; keep their end points if they ever do.
                case SKPathVerb.Quad or SKPathVerb.Conic:
                    current.Add(points[2]);
                    break;
                case SKPathVerb.Cubic:
                    current.Add(points[3]);
                    break;
                case SKPathVerb.Close:
                    Finish(current, contours);
                    break;
            }
        }
        Finish(current, contours);
        return new(contours);
    }

    static void Finish(List<SKPoint> points, List<SKPoint[]> contours)
    {
        var distinct = new List<SKPoint>(points.Count);
        foreach (var p in points)
            if (distinct.Count == 0 || distinct[^1] != p)
                distinct.Add(p);
        if (distinct.Count > 1 && distinct[0] == distinct[^1])
            distinct.RemoveAt(distinct.Count - 1);
        if (distinct.Count >= 3 && Math.Abs(SignedArea(distinct)) >= SliverArea)
            contours.Add([.. distinct]);
        points.Clear();
    }

    public static double SignedArea(IReadOnlyList<SKPoint> points)
    {
        var twice = 0.0;
        for (int i = 0, j = points.Count - 1; i < points.Count; j = i++)
            twice += (double)points[j].X * points[i].Y - (double)points[i].X * points[j].Y;
        return twice / 2;
    }
}
