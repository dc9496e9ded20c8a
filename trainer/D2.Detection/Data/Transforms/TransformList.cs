namespace D2.Detection.Data.Transforms;

/// <summary>
/// Detectron2's (fvcore's) <c>TransformList</c>: transforms applied in order. Each one's own rule is used in turn, so a
/// box is re-boxed after every step (fvcore applies <c>apply_box</c> transform by transform).
/// </summary>
public sealed class TransformList : Transform
{
    public TransformList(IEnumerable<Transform> transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        // Nested lists are flattened and no-ops dropped, as fvcore does.
        Transforms = transforms
            .SelectMany(t => t switch
            {
                null => throw new ArgumentException("A transform list cannot hold null.", nameof(transforms)),
                TransformList list => list.Transforms,
                _ => [t],
            })
            .Where(t => t is not NoOpTransform)
            .ToArray();
    }

    public IReadOnlyList<Transform> Transforms { get; }

    public override ImageBuffer ApplyImage(ImageBuffer image)
    {
        if (Transforms.Count == 0) return NoOpTransform.Instance.ApplyImage(image);
        foreach (var t in Transforms) image = t.ApplyImage(image);
        return image;
    }

    public override ImageBuffer ApplySegmentation(ImageBuffer segmentation)
    {
        if (Transforms.Count == 0) return NoOpTransform.Instance.ApplySegmentation(segmentation);
        foreach (var t in Transforms) segmentation = t.ApplySegmentation(segmentation);
        return segmentation;
    }

    public override void ApplyCoords(Span<double> xy)
    {
        foreach (var t in Transforms) t.ApplyCoords(xy);
    }

    public override double[] ApplyBox(ReadOnlySpan<double> xyxy)
    {
        if (xyxy.Length != 4) throw new ArgumentException($"A box needs x0, y0, x1, y1; got {xyxy.Length} numbers.", nameof(xyxy));
        var box = xyxy.ToArray();
        foreach (var t in Transforms) box = t.ApplyBox(box);
        return box;
    }

    public override (int Height, int Width) OutputSize(int height, int width)
    {
        foreach (var t in Transforms) (height, width) = t.OutputSize(height, width);
        return (height, width);
    }

    public override string ToString() => $"TransformList[{string.Join(", ", Transforms)}]";
}
