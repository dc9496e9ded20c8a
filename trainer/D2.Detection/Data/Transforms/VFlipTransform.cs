namespace D2.Detection.Data.Transforms;

/// <summary>Detectron2's <c>VFlipTransform</c>: mirror the rows of an image <see cref="Height"/> tall; y' = H - y.</summary>
public sealed class VFlipTransform(int height) : Transform
{
    public int Height { get; } = height > 0 ? height : throw new ArgumentOutOfRangeException(nameof(height), height, "Height must be positive.");

    public override ImageBuffer ApplyImage(ImageBuffer image)
    {
        ArgumentNullException.ThrowIfNull(image);
        var rowBytes = (long)image.Width * image.Channels;
        var output = new byte[image.Pixels.LongLength];
        for (var y = 0; y < image.Height; y++)
            Array.Copy(image.Pixels, y * rowBytes, output, (image.Height - 1 - y) * rowBytes, rowBytes);
        return new ImageBuffer(output, image.Height, image.Width, image.Channels);
    }

    public override void ApplyCoords(Span<double> xy)
    {
        for (var i = 1; i < xy.Length; i += 2) xy[i] = Height - xy[i];
    }

    public override (int Height, int Width) OutputSize(int height, int width) => (height, width);

    public override string ToString() => $"VFlipTransform(height={Height})";
}
