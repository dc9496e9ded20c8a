using SkiaSharp;

namespace D2.Detection.Data.Synthetic;

/// <summary>
/// One drawn balloon: a tilted, slightly egg-shaped ellipse (wider at the top, longer at the bottom) whose outline is
/// the polygon that is both painted and annotated, so the mask matches the pixels exactly.
/// </summary>
/// <param name="Outline">24 to 40 outline points, clockwise in image coordinates</param>
/// <param name="Knot">bottom point, where the string hangs from</param>
internal sealed record SyntheticBalloon(SKPoint[] Outline, SKPoint Knot, SKColor Color, float RadiusX, float RadiusY, float Tilt, SKPoint Center)
{
    /// <summary>Share of balloons centred anywhere in the image, free to be cut by the border.</summary>
    const double BorderCutShare = 0.3;

    /// <summary>A random balloon, 12-30% of the short side in vertical radius.</summary>
    public static SyntheticBalloon Random(SyntheticRandom random, int width, int height)
    {
        var shortSide = Math.Min(width, height);
        var radiusY = random.Uniform(0.12, 0.3) * shortSide;
        var radiusX = radiusY * random.Uniform(0.72, 0.9);
        var tilt = random.Uniform(-0.35, 0.35);
        var taper = random.Uniform(0.08, 0.2);
        var stretch = random.Uniform(0.04, 0.12);
        // About a third of the balloons may sit anywhere, so the border cuts them; the rest are placed to fit inside.
        var reach = radiusY * (1 + stretch);
        var center = random.NextDouble() < BorderCutShare || 2 * reach >= Math.Min(width, height)
            ? new SKPoint((float)random.Uniform(0, width), (float)random.Uniform(0, height))
            : new SKPoint((float)random.Uniform(reach, width - reach), (float)random.Uniform(reach, height - reach));
        var count = random.Int(24, 40);
        var phase = random.Uniform(0, 2 * Math.PI / count);
        var (sin, cos) = Math.SinCos(tilt);
        SKPoint Place(double x, double y) => new((float)(center.X + x * cos - y * sin), (float)(center.Y + x * sin + y * cos));

        var outline = new SKPoint[count];
        for (var i = 0; i < count; i++)
        {
            var (s, c) = Math.SinCos(phase + 2 * Math.PI * i / count);
            // s > 0 is the lower half (image y points down): narrower (taper) and longer (stretch) towards the knot.
            var x = radiusX * c * (1 - taper * s);
            var y = radiusY * s * (s > 0 ? 1 + stretch * s : 1);
            outline[i] = Place(x, y);
        }
        var knot = Place(0, radiusY * (1 + stretch));
        var color = SKColor.FromHsv((float)random.Uniform(0, 360), (float)random.Uniform(55, 95), (float)random.Uniform(60, 95));
        return new SyntheticBalloon(outline, knot, color, (float)radiusX, (float)radiusY, (float)(tilt * 180 / Math.PI), center);
    }

    /// <summary>The string: a slack curve from the knot downwards. Not part of the mask, as in the balloon dataset.</summary>
    public void PaintString(SKCanvas canvas, SyntheticRandom random)
    {
        var length = (float)(RadiusY * random.Uniform(0.8, 1.6));
        var sway = (float)(RadiusX * random.Uniform(-0.5, 0.5));
        using var builder = new SKPathBuilder();
        builder.MoveTo(Knot);
        builder.QuadTo(Knot.X + sway, Knot.Y + length * 0.5f, Knot.X - sway * 0.3f, Knot.Y + length);
        using var path = builder.Detach();
        using var paint = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeWidth = 1.3f, Color = new SKColor(60, 60, 60, 220) };
        canvas.DrawPath(path, paint);
    }

    /// <summary>The body, shaded from a light upper-left towards a darker rim, and a soft highlight inside it.</summary>
    public void PaintBody(SKCanvas canvas)
    {
        using var body = PolygonRegion.PathOf([Outline]);
        Color.ToHsv(out var hue, out var saturation, out var value);
        var light = SKColor.FromHsv(hue, saturation * 0.7f, Math.Min(100, value * 1.15f));
        var dark = SKColor.FromHsv(hue, saturation, value * 0.6f);
        var lightCenter = Rotate(-0.3f * RadiusX, -0.35f * RadiusY);
        using var shader = SKShader.CreateRadialGradient(lightCenter, 1.4f * Math.Max(RadiusX, RadiusY), [light, Color, dark], [0, 0.55f, 1], SKShaderTileMode.Clamp);
        using (var fill = new SKPaint { IsAntialias = true, Shader = shader })
            canvas.DrawPath(body, fill);

        canvas.Save();
        canvas.ClipPath(body, antialias: true);
        var highlight = Rotate(-0.38f * RadiusX, -0.45f * RadiusY);
        canvas.Translate(highlight);
        canvas.RotateDegrees(Tilt - 30);
        using (var shine = new SKPaint { IsAntialias = true, Color = new SKColor(255, 255, 255, 150) })
            canvas.DrawOval(SKPoint.Empty, new SKSize(0.2f * RadiusX, 0.12f * RadiusY), shine);
        canvas.Restore();
    }

    SKPoint Rotate(float x, float y)
    {
        var (sin, cos) = MathF.SinCos(Tilt * MathF.PI / 180);
        return new(Center.X + x * cos - y * sin, Center.Y + x * sin + y * cos);
    }
}
