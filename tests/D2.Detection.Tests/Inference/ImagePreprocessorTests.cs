using D2.Detection.Inference;
using SkiaSharp;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Inference;

/// <summary>DefaultPredictor's input side: decoding (EXIF orientation), ResizeShortestEdge and INPUT.FORMAT.</summary>
public class ImagePreprocessorTests
{
    // Hand-worked from Detectron2's get_output_shape: scale the short side, cap the long side, int(x + 0.5).
    [TestCase(480, 640, 800, 1333, 800, 1067)]
    [TestCase(100, 2000, 800, 1333, 67, 1333)] // 800 x 16000 capped: 66.65 x 1333
    [TestCase(600, 400, 800, 1333, 1200, 800)]
    [TestCase(240, 320, 240, 320, 240, 320)]
    [TestCase(90, 120, 0, 1333, 90, 120)] // short edge 0 keeps the size
    public void Output_shape_follows_ResizeShortestEdge(int height, int width, int shortEdge, int maxSize, int expectedHeight, int expectedWidth)
    {
        Assert.That(ImagePreprocessor.GetOutputShape(height, width, shortEdge, maxSize), Is.EqualTo((expectedHeight, expectedWidth)));
    }

    [TestCase("BGR", 50f, 100f, 200f)]
    [TestCase("RGB", 200f, 100f, 50f)]
    public void Preprocess_resizes_and_puts_channels_in_INPUT_FORMAT_order(string format, float first, float second, float third)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(6, 4, SKColorType.Rgba8888, SKAlphaType.Premul));
        bitmap.Erase(new SKColor(200, 100, 50));
        using var input = new ImagePreprocessor(8, 100, format).Preprocess(bitmap);
        Assert.That(input.Image.shape, Is.EqualTo(new long[] { 3, 8, 12 }));
        Assert.That(input.Image.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That((input.OriginalHeight, input.OriginalWidth), Is.EqualTo((4, 6)));
        var channels = input.Image.mean([1, 2]).data<float>().ToArray();
        Assert.That(channels, Is.EqualTo(new[] { first, second, third }).Within(0.5f));
        Assert.That(input.Image.amax([1, 2]).sub(input.Image.amin([1, 2])).max().item<float>(), Is.LessThanOrEqualTo(1f), "a uniform image stays uniform");
    }

    [Test]
    public void Downscale_is_PIL_antialiased_bilinear_not_two_tap_bilinear()
    {
        // Columns 0, 100, 200, 255 halved: PIL's triangle filter widens to 2 input pixels per side, so output pixel 0
        // (centre 1.0) takes columns 0..2 with weights 3/7, 3/7, 1/7 -> 500/7 = 71.4 and pixel 1 (centre 3.0) takes
        // columns 1..3 with 1/7, 3/7, 3/7 -> 1465/7 = 209.3. A plain 2-tap bilinear would give 50 and 227.5.
        using var bitmap = new SKBitmap(new SKImageInfo(4, 2, SKColorType.Rgba8888, SKAlphaType.Premul));
        byte[] columns = [0, 100, 200, 255];
        for (var y = 0; y < 2; y++)
            for (var x = 0; x < 4; x++)
                bitmap.SetPixel(x, y, new SKColor(columns[x], columns[x], columns[x]));
        using var input = new ImagePreprocessor(1, 100).Preprocess(bitmap);
        Assert.That(input.Image.shape, Is.EqualTo(new long[] { 3, 1, 2 }));
        Assert.That(input.Image[0].flatten().data<float>().ToArray(), Is.EqualTo(new[] { 71f, 209f }));
    }

    [Test]
    public void Decode_turns_the_image_as_its_EXIF_orientation_says()
    {
        // 16 wide x 8 tall, left half red, right half blue, tagged orientation 6 (shown rotated 90 degrees clockwise):
        // a viewer shows it 8 wide x 16 tall with red on top.
        using var stored = new SKBitmap(new SKImageInfo(16, 8, SKColorType.Rgba8888, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(stored))
        {
            using var red = new SKPaint { Color = SKColors.Red };
            using var blue = new SKPaint { Color = SKColors.Blue };
            canvas.DrawRect(0, 0, 8, 8, red);
            canvas.DrawRect(8, 0, 8, 8, blue);
        }
        var jpeg = WithExifOrientation(InferenceFixtures.Encode(stored, SKEncodedImageFormat.Jpeg), 6);
        using var decoded = new ImagePreprocessor(0, 0).Decode(jpeg);
        Assert.That((decoded.Width, decoded.Height), Is.EqualTo((8, 16)));
        var top = decoded.GetPixel(4, 3);
        var bottom = decoded.GetPixel(4, 12);
        Assert.That(top.Red, Is.GreaterThan(200));
        Assert.That(top.Blue, Is.LessThan(60));
        Assert.That(bottom.Blue, Is.GreaterThan(200));
        Assert.That(bottom.Red, Is.LessThan(60));
    }

    [Test]
    public void Decode_keeps_PNG_pixels_exactly()
    {
        using var bitmap = InferenceFixtures.SyntheticBitmap(40, 30);
        using var decoded = new ImagePreprocessor(0, 0).Decode(InferenceFixtures.Encode(bitmap));
        Assert.That((decoded.Width, decoded.Height), Is.EqualTo((40, 30)));
        Assert.That(decoded.GetPixel(12, 15), Is.EqualTo(bitmap.GetPixel(12, 15)));
        Assert.That(decoded.GetPixel(1, 1), Is.EqualTo(new SKColor(128, 128, 128)));
    }

    [TestCase(new byte[0])]
    [TestCase(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 })]
    public void Decode_rejects_bytes_that_are_not_an_image(byte[] bytes)
    {
        Assert.That(() => new ImagePreprocessor(800, 1333).Decode(bytes), Throws.TypeOf<InvalidImageException>());
    }

    [Test]
    public void Decode_rejects_a_truncated_image()
    {
        var png = InferenceFixtures.SyntheticPng(64, 48);
        Assert.That(() => new ImagePreprocessor(800, 1333).Decode(png.AsSpan(0, png.Length / 2)), Throws.TypeOf<InvalidImageException>());
    }

    /// <summary>Inserts an APP1 Exif segment (big-endian TIFF, one IFD entry: tag 274 Orientation) after the JPEG's SOI.</summary>
    static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        byte[] tiff = [(byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, (byte)(orientation >> 8), (byte)orientation, 0, 0, 0, 0, 0, 0];
        byte[] exifHeader = [(byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0];
        var length = 2 + exifHeader.Length + tiff.Length;
        byte[] segment = [0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. exifHeader, .. tiff];
        Assert.That(jpeg[0..2], Is.EqualTo(new byte[] { 0xFF, 0xD8 }));
        return [.. jpeg[0..2], .. segment, .. jpeg[2..]];
    }
}
