using D2.Detection.Structures;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Structures;

/// <summary>Detectron2 Boxes semantics (structures/boxes.py) against hand-computed values.</summary>
public class BoxesTests
{
    static float[] Values(Tensor t) => t.to(ScalarType.Float32).contiguous().data<float>().ToArray();

    static Boxes Make(params float[][] rows) =>
        new(tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, 4]));

    [Test]
    public void Area_is_width_times_height()
    {
        using var scope = NewDisposeScope();
        var boxes = Make([0, 0, 4, 3], [1, 2, 1.5f, 6]);

        Assert.That(Values(boxes.Area()), Is.EqualTo(new[] { 12f, 2f }));
    }

    [Test]
    public void Clip_limits_x_to_width_and_y_to_height()
    {
        using var scope = NewDisposeScope();
        var boxes = Make([-1, -2, 5, 9], [1, 1, 2, 2]);

        boxes.Clip((Height: 8, Width: 4));

        Assert.That(Values(boxes.Tensor), Is.EqualTo(new[] { 0f, 0, 4, 8, 1, 1, 2, 2 }));
    }

    [Test]
    public void Clip_refuses_non_finite_boxes()
    {
        using var scope = NewDisposeScope();
        var boxes = Make([0, 0, float.PositiveInfinity, 1]);

        Assert.Throws<InvalidOperationException>(() => boxes.Clip((4, 4)));
    }

    [Test]
    public void Nonempty_requires_both_sides_strictly_above_the_threshold()
    {
        using var scope = NewDisposeScope();
        // Widths 1, 0.5, 0, 2 and heights 1, 1, 1, 0.5.
        var boxes = Make([0, 0, 1, 1], [0, 0, 0.5f, 1], [3, 3, 3, 4], [0, 0, 2, 0.5f]);

        Assert.That(boxes.Nonempty().data<bool>().ToArray(), Is.EqualTo(new[] { true, true, false, true }));
        Assert.That(boxes.Nonempty(0.5).data<bool>().ToArray(), Is.EqualTo(new[] { true, false, false, false }));
    }

    [Test]
    public void Scale_multiplies_x_and_y_coordinates_separately()
    {
        using var scope = NewDisposeScope();
        var boxes = Make([1, 2, 3, 4]);

        boxes.Scale(2, 0.5);

        Assert.That(Values(boxes.Tensor), Is.EqualTo(new[] { 2f, 1, 6, 2 }));
    }

    [Test]
    public void PairwiseIou_matches_hand_values_and_is_zero_without_overlap()
    {
        using var scope = NewDisposeScope();
        // a0 [0,0,2,2] vs b0 [1,1,2,2]: overlap 1, union 4 + 1 - 1 = 4 -> 0.25.
        // a1 [0,0,4,3] vs b3 [2,1,6,5]: overlap 2 * 2 = 4, union 12 + 16 - 4 = 24 -> 1/6.
        // b1 is far away; b2 is a degenerate (zero-area) box: IoU 0, not NaN.
        var a = Make([0, 0, 2, 2], [0, 0, 4, 3]);
        var b = Make([1, 1, 2, 2], [5, 5, 6, 6], [1, 1, 1, 1], [2, 1, 6, 5]);

        var iou = Values(Boxes.PairwiseIou(a, b));

        Assert.That(iou, Is.EqualTo(new[] { 0.25f, 0, 0, 0, 1f / 12, 0, 0, 1f / 6 }).Within(1e-6));
    }

    [Test]
    public void PairwiseIoa_divides_the_overlap_by_the_second_boxes_area()
    {
        using var scope = NewDisposeScope();
        // As Detectron2's pairwise_ioa: intersection / area(boxes2).
        // a0 [0,0,2,2] vs b0 [1,1,2,2] (area 1): 1 / 1; vs b1 [1,0,5,2] (area 8): overlap 1 * 2 = 2 -> 0.25.
        // b2 has zero area and no overlap: 0, not NaN.
        var a = Make([0, 0, 2, 2]);
        var b = Make([1, 1, 2, 2], [1, 0, 5, 2], [3, 3, 3, 3]);

        Assert.That(Values(Boxes.PairwiseIoa(a, b)), Is.EqualTo(new[] { 1f, 0.25f, 0 }));
    }

    [Test]
    public void Indexing_by_mask_and_by_indices_selects_rows()
    {
        using var scope = NewDisposeScope();
        var boxes = Make([0, 0, 1, 1], [1, 1, 2, 2], [2, 2, 3, 3]);

        var byMask = boxes[tensor(new[] { true, false, true })];
        var byIndex = boxes[tensor(new long[] { 2, 0 })];
        var single = boxes.Index(-1);

        Assert.That(Values(byMask.Tensor), Is.EqualTo(new[] { 0f, 0, 1, 1, 2, 2, 3, 3 }));
        Assert.That(Values(byIndex.Tensor), Is.EqualTo(new[] { 2f, 2, 3, 3, 0, 0, 1, 1 }));
        Assert.That(single.Tensor.shape, Is.EqualTo(new long[] { 1, 4 }));
        Assert.That(Values(single.Tensor), Is.EqualTo(new[] { 2f, 2, 3, 3 }));
    }

    [Test]
    public void Indexing_with_a_mask_of_the_wrong_length_names_both_lengths()
    {
        using var scope = NewDisposeScope();
        var boxes = Make([0, 0, 1, 1]);

        var error = Assert.Throws<ArgumentException>(() => _ = boxes[tensor(new[] { true, false })]);

        Assert.That(error!.Message, Does.Contain("1 entries").And.Contain("got 2"));
    }

    [Test]
    public void Cat_joins_boxes_and_an_empty_list_gives_zero_rows()
    {
        using var scope = NewDisposeScope();

        var joined = Boxes.Cat([Make([0, 0, 1, 1]), Make([1, 1, 2, 2], [2, 2, 3, 3])]);

        Assert.That(joined.Length, Is.EqualTo(3));
        Assert.That(Boxes.Cat([]).Tensor.shape, Is.EqualTo(new long[] { 0, 4 }));
    }

    [Test]
    public void Constructor_converts_to_float32_and_rejects_other_shapes()
    {
        using var scope = NewDisposeScope();

        var fromInts = new Boxes(tensor(new long[] { 1, 2, 3, 4 }, [1, 4]));
        var empty = new Boxes(zeros(0));
        var error = Assert.Throws<ArgumentException>(() => _ = new Boxes(zeros(2, 3)));

        Assert.That(fromInts.Tensor.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(empty.Tensor.shape, Is.EqualTo(new long[] { 0, 4 }));
        Assert.That(error!.Message, Does.Contain("[2, 3]"));
    }

    [Test]
    public void Methods_leave_no_temporaries_in_the_callers_scope()
    {
        using var outer = NewDisposeScope();
        var boxes = Make([0, 0, 2, 2], [1, 1, 3, 3]);
        var before = outer.DisposablesCount;

        using (var iou = Boxes.PairwiseIou(boxes, boxes))
        using (var area = boxes.Area())
        {
            // Only the two results joined the caller's scope.
            Assert.That(outer.DisposablesCount, Is.EqualTo(before + 2));
        }
    }
}
