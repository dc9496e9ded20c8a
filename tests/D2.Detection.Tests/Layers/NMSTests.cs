using D2.Detection.Layers;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Layers;

public class NMSTests
{
    /// <summary>
    /// Textbook greedy NMS in float64, O(n^2): visit by decreasing score (equal scores by index), keep a box unless a
    /// kept box has IoU &gt; threshold with it; IoU = inter / (area_i + area_j - inter) with torchvision's signed areas.
    /// </summary>
    static long[] NaiveNMS(double[][] boxes, double[] scores, double threshold, long[]? classes = null)
    {
        var order = Enumerable.Range(0, boxes.Length)
            .OrderByDescending(i => double.IsNaN(scores[i]) ? double.PositiveInfinity : scores[i]).ThenBy(i => i).ToArray();
        var kept = new List<int>();
        foreach (var i in order)
        {
            var suppressed = kept.Any(k => (classes is null || classes[k] == classes[i]) && Iou(boxes[k], boxes[i]) > threshold);
            if (!suppressed)
                kept.Add(i);
        }
        return [.. kept.Select(i => (long)i)];
    }

    static double Iou(double[] a, double[] b)
    {
        var w = Math.Max(0, Math.Min(a[2], b[2]) - Math.Max(a[0], b[0]));
        var h = Math.Max(0, Math.Min(a[3], b[3]) - Math.Max(a[1], b[1]));
        var inter = w * h;
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
    }

    /// <summary>
    /// Random boxes on an integer grid (exact in float32, so float32 and float64 IoUs agree about a 0.5 threshold),
    /// with duplicate scores, duplicate boxes, zero-area and inverted boxes mixed in.
    /// </summary>
    static (double[][] Boxes, double[] Scores) RandomBoxes(Random random, int count, bool integerGrid)
    {
        var boxes = new double[count][];
        var scores = new double[count];
        for (var i = 0; i < count; i++)
        {
            double Coord(double max) => integerGrid ? random.Next((int)max) : random.NextDouble() * max;
            var x0 = Coord(100);
            var y0 = Coord(100);
            var box = (i % 10) switch
            {
                0 => new[] { x0, y0, x0, y0 + Coord(30) },                     // zero width
                1 => new[] { x0, y0, x0 - 1 - Coord(20), y0 + 1 + Coord(20) },  // inverted in x
                2 => new[] { x0, y0, x0 - 1 - Coord(20), y0 - 1 - Coord(20) },  // inverted in both
                3 when i > 10 => (double[])boxes[i - 7].Clone(),                // duplicate of an earlier box
                _ => new[] { x0, y0, x0 + 1 + Coord(40), y0 + 1 + Coord(40) },
            };
            boxes[i] = box;
            scores[i] = random.Next(12) / 12.0; // many ties
        }
        return (boxes, scores);
    }

    static Tensor BoxTensor(double[][] boxes, ScalarType dtype) =>
        tensor(boxes.SelectMany(b => b).ToArray(), [boxes.Length, 4], dtype);

    [TestCase(0.5, 7)]
    [TestCase(0.5, 8)]
    [TestCase(0.0, 9)]
    public void NMS_matches_naive_float64_greedy_on_integer_boxes_with_ties_and_degenerate_boxes(double threshold, int seed)
    {
        using var scope = NewDisposeScope();
        var (boxes, scores) = RandomBoxes(new Random(seed), 400, integerGrid: true);

        var keep = NMS.Apply(BoxTensor(boxes, ScalarType.Float32), tensor(scores, ScalarType.Float32), threshold);

        Assert.That(keep.dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That(keep.data<long>().ToArray(), Is.EqualTo(NaiveNMS(boxes, scores, threshold)));
    }

    [TestCase(0.3)]
    [TestCase(0.7)]
    public void NMS_on_float64_boxes_matches_naive_float64_greedy(double threshold)
    {
        using var scope = NewDisposeScope();
        var (boxes, scores) = RandomBoxes(new Random(11), 500, integerGrid: false);

        var keep = NMS.Apply(BoxTensor(boxes, ScalarType.Float64), tensor(scores, ScalarType.Float64), threshold);

        Assert.That(keep.data<long>().ToArray(), Is.EqualTo(NaiveNMS(boxes, scores, threshold)));
    }

    [Test]
    public void NMS_compares_the_float32_iou_with_the_double_threshold_as_torchvision_does()
    {
        using var scope = NewDisposeScope();
        // IoU = 3 / 10 exactly; in float32 that is 0.300000012 > 0.3, so torchvision's float kernel suppresses.
        var boxes = tensor(new float[] { 0, 0, 10, 1, 0, 0, 3, 1 }, [2, 4]);
        var scores = tensor(new float[] { 0.9f, 0.8f });

        Assert.That(NMS.Apply(boxes, scores, 0.3).data<long>().ToArray(), Is.EqualTo(new long[] { 0 }), "float32");
        Assert.That(NMS.Apply(boxes.to(ScalarType.Float64), scores, 0.3).data<long>().ToArray(), Is.EqualTo(new long[] { 0, 1 }), "float64");
    }

    [Test]
    public void NMS_keeps_boxes_whose_union_with_a_kept_box_is_zero()
    {
        using var scope = NewDisposeScope();
        // Two identical points: intersection 0, union 0, IoU NaN, which never exceeds the threshold.
        var boxes = tensor(new float[] { 5, 5, 5, 5, 5, 5, 5, 5, 0, 0, 4, 4, 0, 0, 4, 4 }, [4, 4]);
        var scores = tensor(new float[] { 0.5f, 0.4f, 0.3f, 0.2f });

        Assert.That(NMS.Apply(boxes, scores, 0.5).data<long>().ToArray(), Is.EqualTo(new long[] { 0, 1, 2 }));
    }

    [Test]
    public void NMS_visits_equal_scores_in_index_order_and_suppresses_only_strictly_above_threshold()
    {
        using var scope = NewDisposeScope();
        // Box 1 overlaps box 0 with IoU exactly 2 / 4 (kept at threshold 0.5); box 3 duplicates box 2.
        var boxes = tensor(new float[] { 0, 0, 3, 1, 1, 0, 4, 1, 10, 10, 12, 12, 10, 10, 12, 12 }, [4, 4]);
        var scores = tensor(new float[] { 1, 1, 1, 1 });

        Assert.That(NMS.Apply(boxes, scores, 0.5).data<long>().ToArray(), Is.EqualTo(new long[] { 0, 1, 2 }));
        Assert.That(NMS.Apply(boxes, scores, 0.49).data<long>().ToArray(), Is.EqualTo(new long[] { 0, 2 }));
    }

    [Test]
    public void NMS_orders_scores_one_float32_ulp_apart_and_puts_nan_scores_first()
    {
        using var scope = NewDisposeScope();
        var one = 1f;
        float[] scoreValues = [one, MathF.BitIncrement(one), MathF.BitIncrement(MathF.BitIncrement(one)), float.NaN, -0f, 0f];
        // Six copies of one box: only the first visited survives.
        var boxes = tensor(Enumerable.Repeat(new float[] { 0, 0, 2, 2 }, 6).SelectMany(b => b).ToArray(), [6, 4]);
        var separate = tensor(Enumerable.Range(0, 6).SelectMany(i => new float[] { 10 * i, 0, 10 * i + 2, 2 }).ToArray(), [6, 4]);

        Assert.That(NMS.Apply(boxes, tensor(scoreValues), 0.5).data<long>().ToArray(), Is.EqualTo(new long[] { 3 }), "NaN first");
        Assert.That(NMS.Apply(separate, tensor(scoreValues), 0.5).data<long>().ToArray(), Is.EqualTo(new long[] { 3, 2, 1, 0, 4, 5 }),
            "by decreasing score, -0 and +0 tied in index order");
        Assert.That(NMS.Apply(separate, tensor(scoreValues).to(ScalarType.Float64), 0.5).data<long>().ToArray(), Is.EqualTo(new long[] { 3, 2, 1, 0, 4, 5 }),
            "the same for float64 scores");
    }

    [Test]
    public void NMS_of_no_boxes_is_empty()
    {
        using var scope = NewDisposeScope();
        var keep = NMS.Apply(zeros(0, 4), zeros(0), 0.5);
        Assert.That(keep.shape, Is.EqualTo(new long[] { 0 }));
        Assert.That(keep.dtype, Is.EqualTo(ScalarType.Int64));
    }

    [Test]
    public void BatchedNMS_matches_naive_per_class_greedy_sorted_by_score()
    {
        using var scope = NewDisposeScope();
        var random = new Random(13);
        var (boxes, scores) = RandomBoxes(random, 600, integerGrid: true);
        var classes = Enumerable.Range(0, boxes.Length).Select(_ => (long)random.Next(-1, 4)).ToArray();

        var keep = NMS.BatchedNMS(BoxTensor(boxes, ScalarType.Float32), tensor(scores, ScalarType.Float32), tensor(classes), 0.5);

        var expected = NaiveNMS(boxes, scores, 0.5, classes);
        Assert.That(keep.data<long>().ToArray(), Is.EqualTo(expected));
        Assert.That(expected, Has.Length.GreaterThan(NaiveNMS(boxes, scores, 0.5).Length), "categories do suppress less");
    }

    [Test]
    public void NMS_rejects_mismatched_shapes()
    {
        using var scope = NewDisposeScope();
        Assert.Multiple(() =>
        {
            Assert.That(() => NMS.Apply(zeros(3, 5), zeros(3), 0.5), Throws.ArgumentException);
            Assert.That(() => NMS.Apply(zeros(3, 4), zeros(2), 0.5), Throws.ArgumentException);
            Assert.That(() => NMS.BatchedNMS(zeros(3, 4), zeros(3), zeros(3), 0.5), Throws.ArgumentException);
        });
    }
}
