using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

public class Box2BoxTransformTests
{
    [Test]
    public void GetDeltas_matches_hand_computed_deltas()
    {
        using var scope = NewDisposeScope();
        var transform = new Box2BoxTransform((10, 10, 5, 5));
        // Source centre (5, 10), size 10 x 20; target centre (7, 9), size 20 x 10.
        var deltas = transform.GetDeltas(tensor(new[] { 0.0, 0, 10, 20 }, [1, 4]), tensor(new[] { -3.0, 4, 17, 14 }, [1, 4]));

        double[] expected = [10 * 2.0 / 10, 10 * -1.0 / 20, 5 * Math.Log(2), 5 * Math.Log(0.5)];
        Assert.That(deltas.data<double>().ToArray(), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void ApplyDeltas_inverts_GetDeltas_for_every_class_slot()
    {
        using var scope = NewDisposeScope();
        var random = new Random(4);
        var transform = new Box2BoxTransform((10, 10, 5, 5));
        // Sizes 20..300: every size ratio stays under the clamp (1000 / 16).
        Tensor RandomBoxes(int n) => tensor(Enumerable.Range(0, n).SelectMany(_ =>
        {
            var x0 = random.NextDouble() * 500;
            var y0 = random.NextDouble() * 500;
            return new[] { x0, y0, x0 + 20 + random.NextDouble() * 280, y0 + 20 + random.NextDouble() * 280 };
        }).Select(v => (float)v).ToArray(), [n, 4]);
        var sources = RandomBoxes(50);
        var targets = new[] { RandomBoxes(50), RandomBoxes(50), RandomBoxes(50) };

        var deltas = cat(targets.Select(t => transform.GetDeltas(sources, t)).ToList(), 1);
        var decoded = transform.ApplyDeltas(deltas, sources);

        Assert.That(decoded.shape, Is.EqualTo(new long[] { 50, 12 }));
        for (var k = 0; k < 3; k++)
        {
            var slot = decoded[TensorIndex.Colon, TensorIndex.Slice(4 * k, 4 * k + 4)];
            Assert.That((slot - targets[k]).abs().max().item<float>(), Is.LessThan(1e-3f), $"class {k}");
        }
    }

    [Test]
    public void ApplyDeltas_clamps_scale_at_ln_1000_over_16()
    {
        using var scope = NewDisposeScope();
        var transform = new Box2BoxTransform((1, 1, 1, 1));
        // A 10 x 10 box at the origin; dw = 100 is clamped to ln(62.5), dh = -1 is not.
        var decoded = transform.ApplyDeltas(tensor(new float[] { 0, 0, 100, -1 }, [1, 4]), tensor(new float[] { 0, 0, 10, 10 }, [1, 4]));

        var box = decoded.data<float>().ToArray();
        Assert.That(Box2BoxTransform.DefaultScaleClamp, Is.EqualTo(Math.Log(1000.0 / 16)));
        Assert.That(box[2] - box[0], Is.EqualTo(625f).Within(1e-3), "width = 10 * 1000 / 16");
        Assert.That(box[3] - box[1], Is.EqualTo(10 * Math.Exp(-1)).Within(1e-4), "height unclamped");
        Assert.That((box[0] + box[2]) / 2, Is.EqualTo(5f).Within(1e-4), "centre kept");
    }

    [Test]
    public void ApplyDeltas_decodes_in_float32()
    {
        using var scope = NewDisposeScope();
        var transform = new Box2BoxTransform((1, 1, 1, 1));
        var decoded = transform.ApplyDeltas(zeros(2, 8, ScalarType.Float64), tensor(new[] { 0.0, 0, 4, 4, 1, 1, 3, 5 }, [2, 4]));

        Assert.That(decoded.dtype, Is.EqualTo(ScalarType.Float32));
        Assert.That(decoded.data<float>().ToArray(), Is.EqualTo(new float[] { 0, 0, 4, 4, 0, 0, 4, 4, 1, 1, 3, 5, 1, 1, 3, 5 }));
    }

    [Test]
    public void GetDeltas_rejects_source_boxes_without_positive_width()
    {
        using var scope = NewDisposeScope();
        var transform = new Box2BoxTransform((1, 1, 1, 1));
        Assert.That(() => transform.GetDeltas(tensor(new float[] { 5, 0, 5, 4 }, [1, 4]), tensor(new float[] { 0, 0, 1, 1 }, [1, 4])),
            Throws.ArgumentException);
    }
}
