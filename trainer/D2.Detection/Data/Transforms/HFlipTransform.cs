namespace D2.Detection.Data.Transforms;

/// <summary>Detectron2's <c>HFlipTransform</c>: mirror the columns of an image <see cref="Width"/> wide; x' = W - x.</summary>
public sealed class HFlipTransform(int width) : Transform
{
    public int Width { get; } = width > 0 ? width : throw new ArgumentOutOfRangeException(nameof(width), width, "Width must be positive.");

    public override ImageBuffer ApplyImage(ImageBuffer image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int w = image.Width, c = image.Channels;
        var output = new byte[image.Pixels.LongLength];
        for (var y = 0; y < image.Height; y++)
        {
            var row = (long)y * w * c;
            for (var x = 0; x < w; x++)
                Array.Copy(image.Pixels, row + (long)x * c, output, row + (long)(w - 1 - x) * c, c);
        }
        return new ImageBuffer(output, image.Height, w, c);
    }

    public override void ApplyCoords(Span<double> xy)
    {
        for (var i = 0; i < xy.Length; i += 2) xy[i] = Width - xy[i];
    }

    public override (int Height, int Width) OutputSize(int height, int width) => (height, width);

    public override string ToString() => $"HFlipTransform(width={Width})";
}
