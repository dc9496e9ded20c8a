using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

public class AnchorGeneratorTests
{
    [Test]
    public void Cell_anchors_match_hand_computed_sizes_and_ratios()
    {
        var generator = new DefaultAnchorGenerator([[32.0]], [[0.5, 1.0, 2.0]], [4]);
        using var cells = generator.CellAnchors(0);
        // size 32, ratio 0.5: w = sqrt(1024 / 0.5) = 45.254834, h = 22.627417; ratio 2 swaps them.
        var expected = new[]
        {
            -22.627417f, -11.313708f, 22.627417f, 11.313708f,
            -16f, -16f, 16f, 16f,
            -11.313708f, -22.627417f, 11.313708f, 22.627417f,
        };
        Assert.That(cells.data<float>().ToArray(), Is.EqualTo(expected).Within(1e-5));
    }

    [Test]
    public void Grid_anchors_follow_row_major_locations_then_cell_order_with_zero_offset()
    {
        var generator = new DefaultAnchorGenerator([[8.0, 16.0]], [[1.0]], [4]);
        using var scope = NewDisposeScope();
        var anchors = generator.GridAnchors([(2, 3)])[0];
        Assert.That(anchors.shape, Is.EqualTo(new long[] { 2 * 3 * 2, 4 }));
        // index = (y * W + x) * A + a; location (y=1, x=2) has centre (8, 4); a = 1 is size 16.
        var index = (1 * 3 + 2) * 2 + 1;
        Assert.That(anchors[index].data<float>().ToArray(), Is.EqualTo(new[] { 0f, -4f, 16f, 12f }));
        Assert.That(anchors[0].data<float>().ToArray(), Is.EqualTo(new[] { -4f, -4f, 4f, 4f }));
    }

    [Test]
    public void Offset_shifts_centres_by_a_fraction_of_the_stride()
    {
        var generator = new DefaultAnchorGenerator([[4.0]], [[1.0]], [8], offset: 0.5);
        using var scope = NewDisposeScope();
        var anchors = generator.GridAnchors([(1, 2)])[0];
        Assert.That(anchors.data<float>().ToArray(), Is.EqualTo(new[] { 2f, 2f, 6f, 6f, 10f, 2f, 14f, 6f }));
    }

    [Test]
    public void One_size_list_broadcasts_and_a_wrong_count_is_an_error()
    {
        var fpn = new DefaultAnchorGenerator([[32.0], [64.0], [128.0], [256.0], [512.0]], [[0.5, 1.0, 2.0]], [4, 8, 16, 32, 64]);
        Assert.That(fpn.NumCellAnchors, Is.EqualTo(new[] { 3, 3, 3, 3, 3 }));
        Assert.That(() => new DefaultAnchorGenerator([[32.0], [64.0]], [[1.0]], [4, 8, 16]),
            Throws.ArgumentException.With.Message.Contains("MODEL.ANCHOR_GENERATOR.SIZES"));
    }
}
