namespace D2.Detection.Data.Transforms;

/// <summary>Detectron2's <c>NoOpTransform</c>: what an augmentation returns when it decides to do nothing (no flip, size 0).</summary>
public sealed class NoOpTransform : Transform
{
    public static NoOpTransform Instance { get; } = new();

    NoOpTransform()
    {
    }

    public override ImageBuffer ApplyImage(ImageBuffer image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return new ImageBuffer((byte[])image.Pixels.Clone(), image.Height, image.Width, image.Channels);
    }

    public override void ApplyCoords(Span<double> xy)
    {
    }

    public override (int Height, int Width) OutputSize(int height, int width) => (height, width);

    public override string ToString() => "NoOpTransform()";
}
