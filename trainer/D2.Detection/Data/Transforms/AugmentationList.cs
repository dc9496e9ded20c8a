namespace D2.Detection.Data.Transforms;

/// <summary>
/// Detectron2's <c>AugmentationList</c> applied to an image (<c>T.apply_augmentations</c>): each augmentation sees the
/// image as the previous ones left it, and the transforms they chose are returned so the annotations can follow.
/// </summary>
public sealed class AugmentationList(IEnumerable<IAugmentation> augmentations)
{
    public IReadOnlyList<IAugmentation> Augmentations { get; } = augmentations?.ToArray() ?? throw new ArgumentNullException(nameof(augmentations));

    /// <returns>the augmented image and the transforms that produced it</returns>
    public (ImageBuffer Image, TransformList Transforms) Apply(ImageBuffer image, Random random)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(random);
        var transforms = new List<Transform>(Augmentations.Count);
        foreach (var augmentation in Augmentations)
        {
            var transform = augmentation.GetTransform(image.Height, image.Width, random);
            if (transform is not NoOpTransform) image = transform.ApplyImage(image);
            transforms.Add(transform);
        }
        return (image, new TransformList(transforms));
    }

    public override string ToString() => $"[{string.Join(", ", Augmentations)}]";
}
