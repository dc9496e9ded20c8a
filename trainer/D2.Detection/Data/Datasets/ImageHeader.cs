using SkiaSharp;

namespace D2.Detection.Data.Datasets;

/// <summary>
/// An image's size from its file header, without decoding the pixels (VIA json records no size). The size is the one
/// the image has once its EXIF orientation is applied, as cv2.imread in the balloon tutorial and Detectron2's mapper see it.
/// </summary>
internal static class ImageHeader
{
    /// <param name="listedIn">the annotations file that names the image, for error messages</param>
    /// <exception cref="DatasetException">the file is missing or not an image SkiaSharp can read.</exception>
    public static (int Height, int Width) ReadSize(string path, string listedIn)
    {
        if (!File.Exists(path))
            throw new DatasetException(path, $"image file not found (listed in {listedIn})");
        using var codec = SKCodec.Create(path, out var result)
            ?? throw new DatasetException(path, $"is not a readable image ({result}; listed in {listedIn})");
        var info = codec.Info;
        // EXIF orientations 5-8 rotate by 90 degrees: the displayed image has width and height swapped.
        return codec.EncodedOrigin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom
            ? (info.Width, info.Height)
            : (info.Height, info.Width);
    }
}
