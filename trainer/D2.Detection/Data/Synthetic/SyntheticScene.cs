using SkiaSharp;

namespace D2.Detection.Data.Synthetic;

/// <summary>
/// One synthetic image: a varied background, saturated distractor rectangles (the hard negatives of the reference
/// run), and 1-4 balloons painted in order, later ones in front. Each balloon's annotation is its visible part: its
/// outline clipped to the image and minus the balloons in front of it.
/// </summary>
internal sealed class SyntheticScene
{
    /// <summary>A placement is kept only if at least this share of the new balloon lies inside the image...</summary>
    const double MinInsideShare = 0.35;

    /// <summary>...and every balloon behind it keeps at least this share of what was visible of it.</summary>
    const double MinKeptShare = 0.55;

    const int PlacementAttempts = 200;

    readonly List<SyntheticBalloon> _balloons = [];
    readonly List<PolygonRegion> _visible = [];

    SyntheticScene(int width, int height) => (Width, Height) = (width, height);

    public int Width { get; }

    public int Height { get; }

    /// <summary>Visible outline of each balloon in painting order: one polygon each, inside [0, W] x [0, H].</summary>
    public IReadOnlyList<SKPoint[]> Instances => [.. _visible.Select(v => v.Contours[0])];

    public static SyntheticScene Layout(SyntheticRandom random, int width, int height)
    {
        var scene = new SyntheticScene(width, height);
        var image = PolygonRegion.Rectangle(width, height);
        var target = random.Int(1, 4);
        for (var attempt = 0; attempt < PlacementAttempts && scene._balloons.Count < target; attempt++)
            scene.TryPlace(SyntheticBalloon.Random(random, width, height), image);
        return scene;
    }

    void TryPlace(SyntheticBalloon balloon, PolygonRegion image)
    {
        var outline = PolygonRegion.FromPolygon(balloon.Outline);
        var inside = outline.Intersect(image);
        if (inside.Contours.Count != 1 || inside.Area < MinInsideShare * outline.Area)
            return;
        var updated = new List<PolygonRegion>(_visible.Count);
        foreach (var behind in _visible)
        {
            var kept = behind.Subtract(outline);
            // One contour each, so that an instance is one polygon (VIA has one polygon per region).
            if (kept.Contours.Count != 1 || kept.Area < MinKeptShare * behind.Area)
                return;
            updated.Add(kept);
        }
        _visible.Clear();
        _visible.AddRange(updated);
        _visible.Add(inside);
        _balloons.Add(balloon);
    }

    public SKBitmap Paint(SyntheticRandom random)
    {
        var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        PaintBackground(canvas, random);
        PaintDistractors(canvas, random);
        foreach (var balloon in _balloons)
        {
            balloon.PaintString(canvas, random);
            balloon.PaintBody(canvas);
        }
        canvas.Flush();
        return bitmap;
    }

    /// <summary>A two-colour gradient in a random direction (sky, dusk, wall, grass...) with a few soft blobs.</summary>
    void PaintBackground(SKCanvas canvas, SyntheticRandom random)
    {
        var hue = (float)random.Uniform(0, 360);
        var top = SKColor.FromHsv(hue, (float)random.Uniform(5, 50), (float)random.Uniform(55, 100));
        var bottom = SKColor.FromHsv((hue + (float)random.Uniform(-60, 60) + 360) % 360, (float)random.Uniform(5, 60), (float)random.Uniform(30, 95));
        var angle = random.Uniform(0, 2 * Math.PI);
        var (sin, cos) = Math.SinCos(angle);
        var half = 0.5f * Math.Max(Width, Height);
        var middle = new SKPoint(Width / 2f, Height / 2f);
        var offset = new SKPoint((float)cos * half, (float)sin * half);
        using (var shader = SKShader.CreateLinearGradient(middle - offset, middle + offset, [top, bottom], SKShaderTileMode.Clamp))
        using (var paint = new SKPaint { Shader = shader })
            canvas.DrawRect(0, 0, Width, Height, paint);

        var blobs = random.Int(0, 5);
        for (var i = 0; i < blobs; i++)
        {
            var color = SKColor.FromHsv((float)random.Uniform(0, 360), (float)random.Uniform(0, 40), (float)random.Uniform(40, 100)).WithAlpha((byte)random.Int(40, 110));
            var center = new SKPoint((float)random.Uniform(0, Width), (float)random.Uniform(0, Height));
            var size = new SKSize((float)random.Uniform(0.08, 0.4) * Width, (float)random.Uniform(0.05, 0.25) * Height);
            using var paint = new SKPaint { IsAntialias = true, Color = color, MaskFilter = SKMaskFilter.CreateBlur(SKBlurStyle.Normal, 4) };
            canvas.DrawOval(center, size, paint);
        }
    }

    /// <summary>0-3 saturated, possibly rotated rectangles: balloon-coloured clutter that is not a balloon.</summary>
    void PaintDistractors(SKCanvas canvas, SyntheticRandom random)
    {
        var count = random.Int(0, 3);
        for (var i = 0; i < count; i++)
        {
            var color = SKColor.FromHsv((float)random.Uniform(0, 360), (float)random.Uniform(70, 100), (float)random.Uniform(55, 100));
            var w = (float)random.Uniform(0.08, 0.35) * Width;
            var h = (float)random.Uniform(0.08, 0.35) * Height;
            var center = new SKPoint((float)random.Uniform(0, Width), (float)random.Uniform(0, Height));
            var corner = (float)random.Uniform(0, 0.2) * Math.Min(w, h);
            canvas.Save();
            canvas.Translate(center);
            canvas.RotateDegrees((float)random.Uniform(-40, 40));
            using var paint = new SKPaint { IsAntialias = true, Color = color };
            canvas.DrawRoundRect(-w / 2, -h / 2, w, h, corner, corner, paint);
            canvas.Restore();
        }
    }
}
