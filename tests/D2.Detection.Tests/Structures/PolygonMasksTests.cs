using D2.Detection.Structures;
using static D2.Detection.Tests.Structures.MaskFixtures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Structures;

/// <summary>Detectron2 PolygonMasks: shoelace areas, boxes, indexing, and rasterize_polygons_within_box targets.</summary>
public class PolygonMasksTests
{
    static string[] Crop(PolygonMasks masks, float[] box, int size, int instance = 0)
    {
        using var scope = NewDisposeScope();
        var boxes = tensor(Enumerable.Repeat(box, (int)masks.Length).SelectMany(b => b).ToArray(), [masks.Length, 4]);
        var crops = masks.CropAndResize(boxes, size);
        Assert.That(crops.dtype, Is.EqualTo(ScalarType.Bool));
        return Picture(crops[instance].to(ScalarType.Byte).data<byte>().ToArray(), size, size);
    }

    [Test]
    public void Area_sums_shoelace_areas_over_an_instances_polygons()
    {
        using var scope = NewDisposeScope();
        // 4x3 rectangle (12) + right triangle with legs 2 and 3 (3); clockwise order gives the same magnitude.
        var masks = new PolygonMasks([
            [[0, 0, 4, 0, 4, 3, 0, 3], [10, 10, 10, 13, 12, 10]],
            [[0, 0, 1, 0, 0.5, 1]],
        ]);

        Assert.That(masks.Area().data<double>().ToArray(), Is.EqualTo(new[] { 15.0, 0.5 }));
    }

    [Test]
    public void Bounding_boxes_span_all_polygons_of_an_instance()
    {
        using var scope = NewDisposeScope();
        var masks = new PolygonMasks([[[1, 2, 3, 2, 3, 5], [6, 0.5, 7, 1, 6.5, 1.5]]]);

        Assert.That(masks.GetBoundingBoxes().Tensor.data<float>().ToArray(), Is.EqualTo(new[] { 1f, 0.5f, 7, 5 }));
    }

    [Test]
    public void Polygons_need_at_least_three_points_and_whole_pairs()
    {
        var tooShort = Assert.Throws<ArgumentException>(() => _ = new PolygonMasks([[[0, 0, 1, 1]]]));
        var odd = Assert.Throws<ArgumentException>(() => _ = new PolygonMasks([[[0, 0, 1, 1, 2, 2, 3]]]));

        Assert.That(tooShort!.Message, Does.Contain("4 coordinates").And.Contain("instance 0, polygon 0"));
        Assert.That(odd!.Message, Does.Contain("7 coordinates"));
    }

    [Test]
    public void CropAndResize_of_the_polygons_own_box_fills_the_grid()
    {
        var masks = new PolygonMasks([[[2, 2, 6, 2, 6, 6, 2, 6]]]);

        Assert.That(Crop(masks, [2, 2, 6, 6], 4), Is.EqualTo(new[] { "####", "####", "####", "####" }));
    }

    [Test]
    public void CropAndResize_shifts_by_the_box_corner_and_scales_to_the_grid()
    {
        // Box [0, 0, 8, 8] on a 4x4 grid halves coordinates: the square 2..6 becomes 1..3 -> cells 1, 2.
        // The triangle (0,0), (9,0), (0,9) becomes legs of 4.5: cell centres i + j + 1 < 4.5 <=> i + j <= 3.
        var masks = new PolygonMasks([[[2, 2, 6, 2, 6, 6, 2, 6]], [[0, 0, 9, 0, 0, 9]]]);

        Assert.That(Crop(masks, [0, 0, 8, 8], 4, 0), Is.EqualTo(new[] { "....", ".##.", ".##.", "...." }));
        Assert.That(Crop(masks, [0, 0, 8, 8], 4, 1), Is.EqualTo(new[] { "####", "###.", "##..", "#..." }));
    }

    [Test]
    public void CropAndResize_scales_x_and_y_independently_for_a_non_square_box()
    {
        // Box [10, 20, 18, 24] (8 wide, 4 high) onto 4x4: x scale 0.5, y scale 1.
        // Rectangle x 12..16, y 21..23 -> x 1..3, y 1..3: cells columns 1..2, rows 1..2.
        var masks = new PolygonMasks([[[12, 21, 16, 21, 16, 23, 12, 23]]]);

        Assert.That(Crop(masks, [10, 20, 18, 24], 4), Is.EqualTo(new[] { "....", ".##.", ".##.", "...." }));
    }

    [Test]
    public void CropAndResize_of_a_degenerate_box_divides_by_at_least_a_tenth()
    {
        // Width 0 is treated as 0.1, so x scales by 4 / 0.1 = 40: the strip x 0..0.05 becomes 0..2 (columns 0, 1).
        var masks = new PolygonMasks([[[0, 0, 0.05, 0, 0.05, 4, 0, 4]]]);

        Assert.That(Crop(masks, [0, 0, 0, 4], 4), Is.EqualTo(new[] { "##..", "##..", "##..", "##.." }));
    }

    [Test]
    public void CropAndResize_returns_an_empty_batch_for_no_instances()
    {
        using var scope = NewDisposeScope();
        var masks = new PolygonMasks([]);

        Assert.That(masks.CropAndResize(zeros(0, 4), 28).shape, Is.EqualTo(new long[] { 0, 28, 28 }));
    }

    [Test]
    public void Indexing_and_cat_keep_polygons()
    {
        using var scope = NewDisposeScope();
        var masks = new PolygonMasks([[[0, 0, 1, 0, 1, 1]], [[2, 2, 3, 2, 3, 3]], []]);

        var picked = masks[tensor(new long[] { 2, 0 })];
        var joined = PolygonMasks.Cat([masks, picked]);

        Assert.That(picked.Polygons[0], Is.Empty);
        Assert.That(picked.Polygons[1][0], Is.EqualTo(new double[] { 0, 0, 1, 0, 1, 1 }));
        Assert.That(masks.Nonempty().data<bool>().ToArray(), Is.EqualTo(new[] { true, true, false }));
        Assert.That(joined.Length, Is.EqualTo(5));
    }
}
