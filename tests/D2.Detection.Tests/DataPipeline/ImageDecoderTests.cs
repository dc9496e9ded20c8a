using D2.Detection.Data;
using SkiaSharp;
using static D2.Detection.Tests.DataPipeline.ImageFixtures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.DataPipeline;

/// <summary>Detectron2's read_image: PNG/JPEG decode, EXIF orientation, channel order, and clear errors naming the file.</summary>
public class ImageDecoderTests
{
    // 2 rows x 3 columns, every pixel a different colour.
    static readonly byte[] SixColours =
    [
        255, 0, 0, 0, 255, 0, 0, 0, 255,
        10, 20, 30, 200, 150, 100, 7, 77, 177,
    ];

    // A 16 x 24 picture in four flat quadrants (8-pixel aligned, so JPEG keeps the colours): TL red, TR green,
    // BL blue, BR white.
    static readonly byte[] Quadrants = Paint(16, 24, (y, x) => (y < 8, x < 12) switch
    {
        (true, true) => (255, 0, 0),
        (true, false) => (0, 255, 0),
        (false, true) => (0, 0, 255),
        _ => (255, 255, 255),
    });

    [Test]
    public void An_image_over_the_pixel_limit_is_refused_from_its_header_naming_the_limit()
    {
        // 16 x 24 = 384 pixels: at the limit it decodes, one pixel under it does not (PIL's MAX_IMAGE_PIXELS, D2_MAX_IMAGE_PIXELS).
        var png = Encode(Quadrants, 16, 24, SKEncodedImageFormat.Png);
        Assert.That(ImageDecoder.DecodeRgba(png, "quadrants", maxPixels: 384).Rgba, Has.Length.EqualTo(384 * 4));
        Assert.That(() => ImageDecoder.DecodeRgba(png, "quadrants", maxPixels: 383),
            Throws.TypeOf<ImageDecodeException>().With.Message.Contains("24x16 = 384 pixels, over the limit of 383").And.Message.Contains("D2_MAX_IMAGE_PIXELS"));
        Assert.That(ImageDecoder.MaxImagePixels, Is.EqualTo(89_478_485), "PIL's default when D2_MAX_IMAGE_PIXELS is not set");
    }

    [TestCase(null, 89_478_485L)]
    [TestCase(" 1000 ", 1000L)]
    public void The_pixel_limit_setting_reads_a_positive_integer(string? text, long expected) =>
        Assert.That(ImageDecoder.ReadMaxImagePixels(text), Is.EqualTo(expected));

    [TestCase("0")]
    [TestCase("lots")]
    public void A_bad_pixel_limit_setting_is_refused_naming_it(string text) =>
        Assert.That(() => ImageDecoder.ReadMaxImagePixels(text), Throws.ArgumentException.With.Message.Contains("D2_MAX_IMAGE_PIXELS").And.Message.Contains(text));

    [Test]
    public void Png_decodes_to_chw_uint8_with_bgr_or_rgb_channel_order()
    {
        using var folder = new TempFolder();
        var file = folder.Write("six.png", Encode(SixColours, 2, 3, SKEncodedImageFormat.Png));
        using var scope = NewDisposeScope();

        var bgr = ImageDecoder.Read(file, "BGR");
        var rgb = ImageDecoder.Read(file, "RGB");

        Assert.That(bgr.shape, Is.EqualTo(new long[] { 3, 2, 3 }));
        Assert.That(bgr.dtype, Is.EqualTo(ScalarType.Byte));
        // Channel planes: R of the first row is 255, 0, 0; in BGR that plane comes last.
        Assert.That(rgb[0].data<byte>().ToArray(), Is.EqualTo(new byte[] { 255, 0, 0, 10, 200, 7 }));
        Assert.That(rgb[1].data<byte>().ToArray(), Is.EqualTo(new byte[] { 0, 255, 0, 20, 150, 77 }));
        Assert.That(rgb[2].data<byte>().ToArray(), Is.EqualTo(new byte[] { 0, 0, 255, 30, 100, 177 }));
        Assert.That(bgr.flip(0).data<byte>().ToArray(), Is.EqualTo(rgb.data<byte>().ToArray()));
    }

    [Test]
    public void Jpeg_decodes_to_its_size_with_colours_close_to_those_written()
    {
        using var folder = new TempFolder();
        var file = folder.Write("quadrants.jpg", Encode(Quadrants, 16, 24, SKEncodedImageFormat.Jpeg));

        var image = ImageDecoder.ReadImage(file, "RGB");

        Assert.That((image.Height, image.Width, image.Channels), Is.EqualTo((16, 24, 3)));
        AssertColour(image, 4, 4, (255, 0, 0));
        AssertColour(image, 4, 20, (0, 255, 0));
        AssertColour(image, 12, 4, (0, 0, 255));
        AssertColour(image, 12, 20, (255, 255, 255));
    }

    // Where each stored quadrant ends up: the upright image's top-left and top-right corner colours.
    [TestCase(2, 16, 24, "green", "red")]     // mirrored left-right
    [TestCase(3, 16, 24, "white", "blue")]    // turned 180 degrees
    [TestCase(4, 16, 24, "blue", "white")]    // mirrored top-bottom
    [TestCase(5, 24, 16, "red", "blue")]      // transposed
    [TestCase(6, 24, 16, "blue", "red")]      // a quarter turn clockwise: the stored left column becomes the top row
    [TestCase(7, 24, 16, "white", "green")]   // transverse
    [TestCase(8, 24, 16, "green", "white")]   // a quarter turn counter-clockwise: the stored right column becomes the top row
    public void Exif_orientation_turns_the_pixels_upright(int orientation, int height, int width, string topLeft, string topRight)
    {
        using var folder = new TempFolder();
        var jpeg = Encode(Quadrants, 16, 24, SKEncodedImageFormat.Jpeg);
        var plain = folder.Write("plain.jpg", jpeg);
        var tagged = folder.Write($"exif{orientation}.jpg", WithExifOrientation(jpeg, orientation));

        var stored = ImageDecoder.ReadImage(plain, "RGB");
        var upright = ImageDecoder.ReadImage(tagged, "RGB");

        Assert.That((upright.Height, upright.Width), Is.EqualTo((height, width)));
        AssertColour(upright, 2, 2, Named(topLeft));
        AssertColour(upright, 2, width - 3, Named(topRight));
        // Pixel for pixel: the same JPEG data decodes identically, so the tagged image must equal the stored one
        // turned by Skia's canvas.
        var (expected, expectedH, expectedW) = OrientWithCanvas(stored.Pixels, stored.Height, stored.Width, orientation);
        Assert.That((expectedH, expectedW), Is.EqualTo((height, width)));
        Assert.That(upright.Pixels, Is.EqualTo(expected));
    }

    [Test]
    public void Exif_orientation_1_leaves_the_pixels_as_stored()
    {
        using var folder = new TempFolder();
        var jpeg = Encode(Quadrants, 16, 24, SKEncodedImageFormat.Jpeg);

        var plain = ImageDecoder.ReadImage(folder.Write("a.jpg", jpeg), "BGR");
        var tagged = ImageDecoder.ReadImage(folder.Write("b.jpg", WithExifOrientation(jpeg, 1)), "BGR");

        Assert.That(tagged.Pixels, Is.EqualTo(plain.Pixels));
    }

    [TestCase(SKEncodedImageFormat.Jpeg, "cut.jpg")]
    [TestCase(SKEncodedImageFormat.Png, "cut.png")]
    public void Truncated_file_fails_with_an_error_naming_the_file(SKEncodedImageFormat format, string name)
    {
        using var folder = new TempFolder();
        var bytes = Encode(Noise(64, 64, 1), 64, 64, format);
        var file = folder.Write(name, bytes[..(bytes.Length / 2)]);

        var error = Assert.Throws<ImageDecodeException>(() => ImageDecoder.ReadImage(file));

        Assert.That(error!.FileName, Is.EqualTo(file));
        Assert.That(error.Message, Does.Contain(file).And.Contain("truncated"));
    }

    [Test]
    public void Missing_or_corrupt_files_fail_with_an_error_naming_the_file()
    {
        using var folder = new TempFolder();
        var missing = Path.Combine(folder.Path, "nowhere.jpg");
        var garbage = folder.Write("garbage.png", "this is not an image"u8.ToArray());
        var empty = folder.Write("empty.jpg", []);

        Assert.That(() => ImageDecoder.ReadImage(missing),
            Throws.TypeOf<ImageDecodeException>().With.Message.Contains(missing).And.Message.Contains("does not exist"));
        Assert.That(() => ImageDecoder.ReadImage(garbage),
            Throws.TypeOf<ImageDecodeException>().With.Message.Contains(garbage));
        Assert.That(() => ImageDecoder.ReadImage(empty),
            Throws.TypeOf<ImageDecodeException>().With.Message.Contains(empty).And.Message.Contains("empty"));
    }

    [Test]
    public void Size_check_rejects_a_record_whose_size_differs_from_the_upright_image()
    {
        using var folder = new TempFolder();
        var file = folder.Write("turned.jpg", WithExifOrientation(Encode(Quadrants, 16, 24, SKEncodedImageFormat.Jpeg), 6));
        var image = ImageDecoder.ReadImage(file);

        // The stored size (16 x 24) is wrong once the image is turned upright (24 x 16).
        var stale = new DatasetRecord(file, Height: 16, Width: 24, ImageId: 1, Annotations: []);
        var upright = stale with { Height = 24, Width = 16 };

        Assert.That(() => ImageDecoder.CheckImageSize(stale, image),
            Throws.TypeOf<ImageDecodeException>().With.Message.Contains(file).And.Message.Contains("got (W, H) = (16, 24), expect (24, 16)"));
        Assert.That(() => ImageDecoder.CheckImageSize(upright, image), Throws.Nothing);
    }

    [Test]
    public void Unsupported_format_is_rejected_by_name()
    {
        Assert.That(() => ImageDecoder.ReadImage("x.jpg", "YUV-BT.601"),
            Throws.ArgumentException.With.Message.Contains("YUV-BT.601"));
    }

    static (byte, byte, byte) Named(string colour) => colour switch
    {
        "red" => (255, 0, 0),
        "green" => (0, 255, 0),
        "blue" => (0, 0, 255),
        "white" => (255, 255, 255),
        _ => throw new ArgumentOutOfRangeException(nameof(colour)),
    };

    static void AssertColour(ImageBuffer image, int y, int x, (byte R, byte G, byte B) expected)
    {
        // JPEG quality 100 with chroma subsampling is close, not exact, on flat regions.
        const int tolerance = 12;
        Assert.That(new[] { image[y, x, 0], image[y, x, 1], image[y, x, 2] },
            Is.EqualTo(new[] { expected.R, expected.G, expected.B }).Within(tolerance), $"pixel (y={y}, x={x})");
    }
}
