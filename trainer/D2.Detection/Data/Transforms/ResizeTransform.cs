namespace D2.Detection.Data.Transforms;

/// <summary>
/// Detectron2's <c>ResizeTransform</c>: resize an image of (<see cref="Height"/>, <see cref="Width"/>) to
/// (<see cref="NewHeight"/>, <see cref="NewWidth"/>); images with Pillow's BILINEAR, masks with NEAREST, coordinates
/// scaled by new/old per axis.
/// </summary>
public sealed class ResizeTransform : Transform
{
    public ResizeTransform(int height, int width, int newHeight, int newWidth)
    {
        if (height <= 0 || width <= 0 || newHeight <= 0 || newWidth <= 0)
            throw new ArgumentOutOfRangeException(nameof(height), $"Cannot resize {height}x{width} to {newHeight}x{newWidth}; sizes must be positive.");
        Height = height;
        Width = width;
        NewHeight = newHeight;
        NewWidth = newWidth;
    }

    public int Height { get; }

    public int Width { get; }

    public int NewHeight { get; }

    public int NewWidth { get; }

    public override ImageBuffer ApplyImage(ImageBuffer image)
    {
        CheckInput(image);
        return PilResize.Bilinear(image, NewHeight, NewWidth);
    }

    public override ImageBuffer ApplySegmentation(ImageBuffer segmentation)
    {
        CheckInput(segmentation);
        return PilResize.Nearest(segmentation, NewHeight, NewWidth);
    }

    public override void ApplyCoords(Span<double> xy)
    {
        // The factor first, then the product: the same float64 operations as Detectron2's apply_coords.
        var scaleX = NewWidth * 1.0 / Width;
        var scaleY = NewHeight * 1.0 / Height;
        for (var i = 0; i + 1 < xy.Length; i += 2)
        {
            xy[i] *= scaleX;
            xy[i + 1] *= scaleY;
        }
    }

    public override (int Height, int Width) OutputSize(int height, int width) => (NewHeight, NewWidth);

    public override string ToString() => $"ResizeTransform(h={Height}, w={Width}, new_h={NewHeight}, new_w={NewWidth})";

    void CheckInput(ImageBuffer image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Height != Height || image.Width != Width)
            throw new ArgumentException($"This resize expects a {Height}x{Width} input; got {image.Height}x{image.Width}.", nameof(image));
    }
}
