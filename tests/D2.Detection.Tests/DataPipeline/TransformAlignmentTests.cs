using D2.Detection.Data;
using D2.Detection.Data.Transforms;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.DataPipeline;

/// <summary>
/// Boxes, polygons and masks must land on the same pixels as the image after resize and flip: the test paints a
/// polygon into an image, transforms both, and compares the painted region with the transformed polygon rasterised
/// by the COCO rule.
/// </summary>
public class TransformAlignmentTests
{
    const int Height = 60, Width = 80;
    // In the top-left part, so its mirror images barely overlap it.
    static readonly double[] Polygon = [6, 4, 40, 8, 30, 30, 10, 24];

    public static IEnumerable<TestCaseData> Chains()
    {
        yield return new TestCaseData((object)new Transform[] { new ResizeTransform(Height, Width, 45, 60), new HFlipTransform(60) })
            .SetName("Downscale_then_horizontal_flip_keeps_polygon_box_and_image_aligned");
        yield return new TestCaseData((object)new Transform[] { new ResizeTransform(Height, Width, 90, 120), new VFlipTransform(90) })
            .SetName("Upscale_then_vertical_flip_keeps_polygon_box_and_image_aligned");
        yield return new TestCaseData((object)new Transform[] { new HFlipTransform(Width), new ResizeTransform(Height, Width, 37, 49) })
            .SetName("Flip_then_uneven_resize_keeps_polygon_box_and_image_aligned");
    }

    [TestCaseSource(nameof(Chains))]
    public void Transformed_annotations_cover_the_transformed_painted_region(Transform[] chain)
    {
        var transforms = new TransformList(chain);
        var mask = Rle.FromPolygon(Polygon, Height, Width).Decode();
        var image = new ImageBuffer(mask.SelectMany(on => on == 1 ? new byte[] { 255, 255, 255 } : new byte[] { 0, 0, 0 }).ToArray(), Height, Width, 3);

        var transformed = transforms.ApplyImage(image);
        var (h, w) = (transformed.Height, transformed.Width);
        var painted = Enumerable.Range(0, h * w).Select(i => transformed.Pixels[i * 3] > 127 ? (byte)1 : (byte)0).ToArray();
        var polygon = transforms.ApplyPolygon(Polygon);
        var rasterised = Rle.FromPolygon(polygon, h, w).Decode();

        Assert.That(Iou(painted, rasterised), Is.GreaterThan(0.9), "polygon vs image");
        // The same polygon without the flip does not fit: the check can tell a mirrored annotation from a right one.
        var unflipped = new TransformList(chain.Where(t => t is ResizeTransform)).ApplyPolygon(Polygon);
        Assert.That(Iou(painted, Rle.FromPolygon(unflipped, h, w).Decode()), Is.LessThan(0.2), "unflipped polygon vs image");

        // The box of the original region, transformed corner-wise, is the box of the transformed region (within a pixel).
        var box = transforms.ApplyBox(BoxOf(mask, Height, Width));
        Assert.That(box, Is.EqualTo(BoxOf(painted, h, w)).Within(1.5));

        // A full-image bit mask follows with nearest resizing.
        using var scope = NewDisposeScope();
        var bitMask = transforms.ApplyBitMasks(new BitMasks(tensor(mask, [1, Height, Width])));
        Assert.That(bitMask.ImageSize, Is.EqualTo((h, w)));
        var bits = bitMask.Tensor.to(ScalarType.Byte).data<byte>().ToArray();
        Assert.That(Iou(bits, rasterised), Is.GreaterThan(0.9), "bit mask vs polygon");
    }

    [Test]
    public void Horizontal_flip_mirrors_box_corners_and_takes_min_max()
    {
        var box = new HFlipTransform(100).ApplyBox([10, 20, 30, 40]);

        Assert.That(box, Is.EqualTo(new double[] { 70, 20, 90, 40 }));
    }

    [Test]
    public void Vertical_flip_mirrors_y()
    {
        Assert.That(new VFlipTransform(50).ApplyBox([10, 20, 30, 40]), Is.EqualTo(new double[] { 10, 10, 30, 30 }));
    }

    [Test]
    public void Resize_scales_coordinates_per_axis_and_does_not_clip_polygons()
    {
        var resize = new ResizeTransform(100, 200, 50, 300);

        Assert.That(resize.ApplyBox([20, 10, 40, 30]), Is.EqualTo(new double[] { 30, 5, 60, 15 }));
        Assert.That(resize.ApplyPolygon([-10, -4, 220, 50, 100, 120]), Is.EqualTo(new double[] { -15, -2, 330, 25, 150, 60 }));
    }

    [Test]
    public void Transform_list_applies_in_order_and_reports_the_output_size()
    {
        var list = new TransformList([new ResizeTransform(10, 20, 5, 10), NoOpTransform.Instance, new HFlipTransform(10)]);

        Assert.That(list.Transforms, Has.Count.EqualTo(2));
        Assert.That(list.OutputSize(10, 20), Is.EqualTo((5, 10)));
        Assert.That(list.ApplyBox([0, 0, 4, 2]), Is.EqualTo(new double[] { 8, 0, 10, 1 }));
    }

    [Test]
    public void Random_flip_flips_with_its_probability_from_the_given_generator()
    {
        var flip = new RandomFlip(0.5);
        var random = new Random(12);

        var flips = Enumerable.Range(0, 1000).Count(_ => flip.GetTransform(10, 20, random) is HFlipTransform);

        Assert.That(flips, Is.InRange(430, 570));
        Assert.That(new RandomFlip(1.0).GetTransform(10, 20, random), Is.TypeOf<HFlipTransform>());
        Assert.That(new RandomFlip(0.0).GetTransform(10, 20, random), Is.SameAs(NoOpTransform.Instance));
        Assert.That(new RandomFlip(1.0, horizontal: false, vertical: true).GetTransform(10, 20, random), Is.TypeOf<VFlipTransform>());
    }

    [Test]
    public void Image_flips_mirror_pixels()
    {
        var image = new ImageBuffer([1, 2, 3, 4, 5, 6], 2, 3, 1);

        Assert.That(new HFlipTransform(3).ApplyImage(image).Pixels, Is.EqualTo(new byte[] { 3, 2, 1, 6, 5, 4 }));
        Assert.That(new VFlipTransform(2).ApplyImage(image).Pixels, Is.EqualTo(new byte[] { 4, 5, 6, 1, 2, 3 }));
    }

    static double Iou(byte[] a, byte[] b)
    {
        int intersection = 0, union = 0;
        for (var i = 0; i < a.Length; i++)
        {
            if (a[i] != 0 && b[i] != 0) intersection++;
            if (a[i] != 0 || b[i] != 0) union++;
        }
        return union == 0 ? 0 : (double)intersection / union;
    }

    // Pixel-edge box of the on pixels: pixel (y, x) covers [x, x + 1) x [y, y + 1).
    static double[] BoxOf(byte[] mask, int height, int width)
    {
        int x0 = width, y0 = height, x1 = 0, y1 = 0;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                if (mask[y * width + x] == 0) continue;
                (x0, y0, x1, y1) = (Math.Min(x0, x), Math.Min(y0, y), Math.Max(x1, x + 1), Math.Max(y1, y + 1));
            }
        }
        return [x0, y0, x1, y1];
    }
}
