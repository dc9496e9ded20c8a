using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Structures;

/// <summary>
/// Detectron2's ImageList: images of different sizes padded into one (N, C, H, W) batch (top-left aligned, sizes rounded
/// up to a multiple of the size divisibility), with each image's unpadded (height, width) kept for clipping.
/// </summary>
public sealed class ImageList : IDisposable
{
    public ImageList(Tensor tensor, IReadOnlyList<(int Height, int Width)> imageSizes)
    {
        Tensor = tensor;
        ImageSizes = imageSizes;
    }

    /// <summary>(N, C, H, W), padded.</summary>
    public Tensor Tensor { get; }

    public IReadOnlyList<(int Height, int Width)> ImageSizes { get; }

    /// <param name="images">per image, (C, Hi, Wi)</param>
    /// <param name="sizeDivisibility">pad H and W up to a multiple of this (0: no rounding)</param>
    /// <param name="padValue">value of the padding (0 after normalisation = the mean colour)</param>
    public static ImageList FromTensors(IReadOnlyList<Tensor> images, int sizeDivisibility = 0, float padValue = 0f)
    {
        if (images.Count == 0)
            throw new ArgumentException("ImageList needs at least one image.", nameof(images));
        var channels = images[0].shape[0];
        foreach (var image in images)
            if (image.dim() != 3 || image.shape[0] != channels)
                throw new ArgumentException($"Every image must be (C={channels}, H, W); got [{string.Join(", ", image.shape)}].", nameof(images));
        var maxHeight = images.Max(i => i.shape[1]);
        var maxWidth = images.Max(i => i.shape[2]);
        if (sizeDivisibility > 1)
        {
            maxHeight = (maxHeight + sizeDivisibility - 1) / sizeDivisibility * sizeDivisibility;
            maxWidth = (maxWidth + sizeDivisibility - 1) / sizeDivisibility * sizeDivisibility;
        }
        using var scope = NewDisposeScope();
        using var pad = padValue.ToScalar();
        var batch = full([images.Count, channels, maxHeight, maxWidth], pad, dtype: images[0].dtype, device: images[0].device);
        using (no_grad())
            for (var i = 0; i < images.Count; i++)
                batch[i, .., ..(int)images[i].shape[1], ..(int)images[i].shape[2]] = images[i];
        var sizes = images.Select(i => ((int)i.shape[1], (int)i.shape[2])).ToList();
        return new ImageList(batch.MoveToOuterDisposeScope(), sizes);
    }

    public void Dispose() => Tensor.Dispose();
}
