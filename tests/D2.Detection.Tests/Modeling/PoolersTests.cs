using D2.Detection.Modeling;
using D2.Detection.Tests.Layers;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

public class PoolersTests
{
    static Tensor SquareBox(double side, double x0 = 0, double y0 = 0) =>
        tensor(new[] { (float)x0, (float)y0, (float)(x0 + side), (float)(y0 + side) }, [1, 4]);

    [Test]
    public void AssignBoxesToLevels_switches_level_at_sqrt_areas_112_224_448()
    {
        using var scope = NewDisposeScope();
        // sqrt(area) 111.9 -> p2, 112 -> p3, 223.9 -> p3, 224 -> p4, 447.9 -> p4, 448 -> p5; levels 2..5 -> 0..3.
        double[] sides = [111.9, 112, 223.9, 224, 447.9, 448];
        var boxes = sides.Select(s => SquareBox(s, 10, 20)).ToList();

        var levels = ROIPooler.AssignBoxesToLevels(boxes, minLevel: 2, maxLevel: 5, canonicalBoxSize: 224, canonicalLevel: 4);

        Assert.That(levels.dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That(levels.data<long>().ToArray(), Is.EqualTo(new long[] { 0, 1, 1, 2, 2, 3 }));
    }

    [Test]
    public void AssignBoxesToLevels_clamps_empty_and_huge_boxes_to_the_pyramid()
    {
        using var scope = NewDisposeScope();
        var boxes = new List<Tensor>
        {
            tensor(new float[] { 5, 5, 5, 9, 1, 1, 3, 3 }, [2, 4]), // zero area, 2 x 2
            tensor(new float[] { 0, 0, 5000, 5000 }, [1, 4]),
        };

        var levels = ROIPooler.AssignBoxesToLevels(boxes, 2, 5, 224, 4);

        Assert.That(levels.data<long>().ToArray(), Is.EqualTo(new long[] { 0, 0, 3 }));
    }

    [Test]
    public void ConvertBoxesToPoolerFormat_prefixes_each_box_with_its_image_index()
    {
        using var scope = NewDisposeScope();
        var rows = ROIPooler.ConvertBoxesToPoolerFormat([SquareBox(4, 1, 2), zeros(0, 4), SquareBox(6, 3, 4)]);

        Assert.That(rows.data<float>().ToArray(), Is.EqualTo(new float[] { 0, 1, 2, 5, 6, 2, 3, 4, 9, 10 }));
    }

    [Test]
    public void ROIPooler_pools_each_box_from_its_level_and_keeps_the_box_order()
    {
        using var scope = NewDisposeScope();
        var random = new Random(9);
        const int channels = 2, images = 2, imageSize = 512;
        int[] strides = [4, 8, 16, 32];
        var features = strides.Select(s => randn([images, channels, imageSize / s, imageSize / s], ScalarType.Float64)).ToList();
        // Sizes that visit every level, shuffled so that levels interleave.
        double[] sides = [40, 300, 130, 500, 90, 250, 180, 20];
        var boxes = Enumerable.Range(0, images).Select(i =>
            tensor(sides.Skip(i * 4).Take(4).SelectMany(s =>
            {
                var x0 = random.NextDouble() * (imageSize - s);
                var y0 = random.NextDouble() * (imageSize - s);
                return new[] { x0, y0, x0 + s * 0.8, y0 + s * 1.25 }; // area = s^2
            }).ToArray(), [4, 4], ScalarType.Float64)).ToList();
        using var pooler = new ROIPooler(7, [.. strides.Select(s => 1.0 / s)], 0, "ROIAlignV2");

        var pooled = pooler.call(features, boxes);

        Assert.That(pooled.shape, Is.EqualTo(new long[] { 8, channels, 7, 7 }));
        var expectedLevels = new[] { 0, 2, 1, 3, 0, 2, 1, 0 };
        for (var b = 0; b < 8; b++)
        {
            var level = expectedLevels[b];
            var size = imageSize / strides[level];
            var reference = new ROIAlignReference(images, channels, size, size, 7, 7, 1.0 / strides[level], 0, aligned: true);
            var box = boxes[b / 4][b % 4].data<double>().ToArray();
            var roi = new double[] { b / 4, box[0], box[1], box[2], box[3] };
            var expected = reference.Forward(features[level].contiguous().data<double>().ToArray(), roi);
            Assert.That(pooled[b].contiguous().data<double>().ToArray(), Is.EqualTo(expected).Within(1e-12), $"box {b} on p{level + 2}");
        }
    }

    [Test]
    public void ROIPooler_gradient_reaches_each_level_as_the_bruteforce_adjoint()
    {
        using var scope = NewDisposeScope();
        var random = new Random(12);
        int[] strides = [4, 8];
        var features = strides.Select(s => randn([2, 3, 64 / s, 64 / s], ScalarType.Float64).requires_grad_()).ToList();
        // 40 x 40 pools from p2, 150 x 150 clamps to p3; legacy unaligned ROIAlign with ratio 2.
        var boxes = new List<Tensor>
        {
            tensor(new double[] { 1, 2, 41, 42, 0, 0, 150, 150 }, [2, 4]),
            tensor(new double[] { 10, 5, 30, 45 }, [1, 4]),
        };
        using var pooler = new ROIPooler(2, [0.25, 0.125], 2, "ROIAlign");
        var upstream = Enumerable.Range(0, 3 * 3 * 4).Select(_ => random.NextDouble() - 0.5).ToArray();

        var pooled = pooler.call(features, boxes);
        (pooled * tensor(upstream, [3, 3, 2, 2], ScalarType.Float64)).sum().backward();

        // Box b's upstream rows go to its level; the other level's reference sees zeros for it.
        int[] levelOfBox = [0, 1, 0];
        double[][] rois = [[0, 1, 2, 41, 42], [0, 0, 0, 150, 150], [1, 10, 5, 30, 45]];
        for (var level = 0; level < 2; level++)
        {
            var size = 64 / strides[level];
            var reference = new ROIAlignReference(2, 3, size, size, 2, 2, 1.0 / strides[level], 2, aligned: false);
            var levelUpstream = upstream.Select((g, i) => levelOfBox[i / 12] == level ? g : 0).ToArray();
            var expected = reference.Backward(levelUpstream, [.. rois.SelectMany(r => r)]);
            Assert.That(features[level].grad!.data<double>().ToArray(), Is.EqualTo(expected).Within(1e-12), $"p{level + 2}");
            Assert.That(expected.Any(g => g != 0), Is.True, $"p{level + 2} receives gradient");
        }
    }

    [Test]
    public void ROIPooler_leaves_a_zero_row_for_a_box_without_a_level()
    {
        using var scope = NewDisposeScope();
        var features = new[] { 4, 8 }.Select(s => ones([1, 2, 256 / s, 256 / s], requires_grad: true)).ToList();
        using var pooler = new ROIPooler(2, [0.25, 0.125], 0, "ROIAlignV2");
        // The middle box is inverted in x only: negative area, NaN size, no level (Detectron2 leaves its row zero).
        var pooled = pooler.call(features, [tensor(new float[] { 0, 0, 40, 40, 30, 0, 10, 20, 0, 0, 150, 150 }, [3, 4])]);

        Assert.That(pooled[1].abs().sum().item<float>(), Is.Zero);
        Assert.That(pooled[0].data<float>().ToArray(), Is.All.EqualTo(1f).Within(1e-6));
        Assert.That(pooled[2].data<float>().ToArray(), Is.All.EqualTo(1f).Within(1e-6));
        pooled.sum().backward();
        Assert.That(features.Select(f => f.grad!.sum().item<float>()), Is.EqualTo(new[] { 8f, 8f }).Within(1e-4));
    }

    [Test]
    public void ROIPooler_rejects_unknown_types_and_non_pyramid_scales()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => new ROIPooler(7, [0.25], 0, "ROIPool"), Throws.ArgumentException.With.Message.Contains("ROIPool"));
            Assert.That(() => new ROIPooler(7, [0.25, 0.0625], 0, "ROIAlignV2"), Throws.ArgumentException);
            Assert.That(() => new ROIPooler(7, [0.3], 0, "ROIAlignV2"), Throws.ArgumentException);
        });
    }
}
