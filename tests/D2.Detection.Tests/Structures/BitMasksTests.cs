using D2.Detection.Structures;
using static D2.Detection.Tests.Structures.MaskFixtures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Structures;

/// <summary>Detectron2 BitMasks: boxes, areas, RLE conversion, and crop-and-resize with ROIAlign (aligned, adaptive sampling).</summary>
public class BitMasksTests
{
    static BitMasks FromPictures(params string[][] pictures)
    {
        int h = pictures[0].Length, w = pictures[0][0].Length;
        var data = pictures.SelectMany(p => FromPicture(p)).ToArray();
        return new BitMasks(tensor(data, [pictures.Length, h, w]));
    }

    [Test]
    public void Bounding_boxes_are_tight_with_exclusive_far_corner_and_zero_when_empty()
    {
        using var scope = NewDisposeScope();
        var masks = FromPictures(
            [".....", "..#..", ".##..", "....."],
            [".....", ".....", ".....", "....."],
            ["#....", ".....", ".....", "....#"]);

        var boxes = masks.GetBoundingBoxes().Tensor.data<float>().ToArray();

        Assert.That(boxes, Is.EqualTo(new float[] { 1, 1, 3, 3, 0, 0, 0, 0, 0, 0, 5, 4 }));
    }

    [Test]
    public void Area_counts_pixels_and_nonempty_flags_masks_with_any()
    {
        using var scope = NewDisposeScope();
        var masks = FromPictures(["##.", "#.."], ["...", "..."]);

        Assert.That(masks.Area().data<long>().ToArray(), Is.EqualTo(new long[] { 3, 0 }));
        Assert.That(masks.Nonempty().data<bool>().ToArray(), Is.EqualTo(new[] { true, false }));
    }

    [Test]
    public void ToRles_encodes_each_mask_in_coco_order()
    {
        using var scope = NewDisposeScope();
        var masks = FromPictures([".##.", ".##.", "..##"], ["....", "....", "...."]);

        var rles = masks.ToRles();

        Assert.That(rles[0].ToCompressedString(), Is.EqualTo("32111N")); // the hand-worked example of RleCodecTests
        Assert.That(rles[1].Counts, Is.EqualTo(new uint[] { 12 }));
    }

    [Test]
    public void FromPolygonMasks_rasterises_each_instance_on_the_full_image()
    {
        using var scope = NewDisposeScope();
        var polygons = new PolygonMasks([[[1, 1, 4, 1, 4, 3, 1, 3]], [[0, 0, 6.5, 0, 0, 6.5]]]);

        var masks = BitMasks.FromPolygonMasks(polygons, 5, 6);

        var data = masks.Tensor.to(ScalarType.Byte).data<byte>().ToArray();
        Assert.That(Picture(data[..30], 5, 6), Is.EqualTo(new[] { "......", ".###..", ".###..", "......", "......" }));
        Assert.That(Picture(data[30..], 5, 6), Is.EqualTo(new[] { "######", "#####.", "####..", "###...", "##...." }));
    }

    [Test]
    public void CropAndResize_inside_an_exact_box_keeps_the_mask()
    {
        using var scope = NewDisposeScope();
        var mask = new byte[64];
        for (var y = 2; y < 6; y++)
        for (var x = 2; x < 6; x++)
            mask[y * 8 + x] = 1;
        var masks = new BitMasks(tensor(mask, [1, 8, 8]));

        var crop = masks.CropAndResize(tensor(new float[] { 2, 2, 6, 6 }, [1, 4]), 4);
        var shrunk = masks.CropAndResize(tensor(new float[] { 0, 0, 8, 8 }, [1, 4]), 4);

        Assert.That(crop.shape, Is.EqualTo(new long[] { 1, 4, 4 }));
        Assert.That(crop.all().item<bool>(), Is.True);
        Assert.That(Picture(shrunk.to(ScalarType.Byte).data<byte>().ToArray(), 4, 4), Is.EqualTo(new[] { "....", ".##.", ".##.", "...." }));
    }

    [Test]
    public void CropAndResize_thresholds_the_block_average_when_bins_hold_whole_pixels()
    {
        // A box of M*a by M*b pixels at integer corners: with aligned ROIAlign and adaptive sampling (a x b samples per
        // bin) every sample falls on a pixel centre, so a bin's value is the mean of its a x b pixel block.
        using var scope = NewDisposeScope();
        var random = new Random(7);
        const int h = 20, w = 24, m = 4;
        for (var trial = 0; trial < 20; trial++)
        {
            int a = random.Next(1, 5), b = random.Next(1, 5);
            int x0 = random.Next(0, w - m * a + 1), y0 = random.Next(0, h - m * b + 1);
            var mask = RandomMask(random, h, w);
            var masks = new BitMasks(tensor(mask, [1, h, w]));

            var crop = masks.CropAndResize(tensor(new float[] { x0, y0, x0 + m * a, y0 + m * b }, [1, 4]), m);

            var actual = crop.to(ScalarType.Byte).data<byte>().ToArray();
            for (var i = 0; i < m; i++)
            for (var j = 0; j < m; j++)
            {
                var on = 0;
                for (var dy = 0; dy < b; dy++)
                for (var dx = 0; dx < a; dx++)
                    on += mask[(y0 + b * i + dy) * w + x0 + a * j + dx];
                Assert.That(actual[i * m + j] == 1, Is.EqualTo(2 * on >= a * b), $"trial {trial} bin ({i}, {j})");
            }
        }
    }

    [Test]
    public void CropAndResize_needs_one_box_per_mask()
    {
        using var scope = NewDisposeScope();
        var masks = new BitMasks(zeros(2, 4, 4));

        var error = Assert.Throws<ArgumentException>(() => masks.CropAndResize(zeros(3, 4), 2));

        Assert.That(error!.Message, Does.Contain("(2, 4)").And.Contain("[3, 4]"));
    }

    [Test]
    public void Indexing_and_cat_keep_masks_whole()
    {
        using var scope = NewDisposeScope();
        var masks = FromPictures(["#.", ".."], [".#", ".."], ["..", "#."]);

        var picked = masks[tensor(new[] { false, true, true })];
        var joined = BitMasks.Cat([masks, picked]);

        Assert.That(picked.Area().data<long>().ToArray(), Is.EqualTo(new long[] { 1, 1 }));
        Assert.That(picked.Tensor[1, 1, 0].item<bool>(), Is.True);
        Assert.That(joined.Length, Is.EqualTo(5));
        Assert.That(masks.Index(0).Tensor.shape, Is.EqualTo(new long[] { 1, 2, 2 }));
    }

    [Test]
    public void Constructor_requires_three_dimensions()
    {
        var error = Assert.Throws<ArgumentException>(() => _ = new BitMasks(zeros(4, 4)));

        Assert.That(error!.Message, Does.Contain("(N, H, W)"));
    }
}
