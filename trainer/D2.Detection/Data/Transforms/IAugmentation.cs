namespace D2.Detection.Data.Transforms;

/// <summary>
/// Detectron2's <c>Augmentation</c>: a policy that looks at the current image size, draws its random parameters from
/// <c>random</c> and returns the deterministic <see cref="Transform"/> to apply to the image and its annotations.
/// </summary>
public interface IAugmentation
{
    /// <param name="height">height of the image as it is at this point of the augmentation chain</param>
    /// <param name="width">width of the image as it is at this point of the augmentation chain</param>
    /// <param name="random">the only source of randomness, so a seed fixes the result</param>
    Transform GetTransform(int height, int width, Random random);
}
