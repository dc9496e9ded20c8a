using D2.Detection.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Layers;

public class ROIAlignTests
{
    const int Batch = 2, Channels = 3, Height = 11, Width = 13;

    /// <summary>
    /// ROIs in input-image pixels (scale 0.5 maps them onto the 11 x 13 map, i.e. a 22 x 26 image): ordinary ones,
    /// ones partly and fully outside the map, tiny, zero-size and inverted ones.
    /// </summary>
    static double[] MakeROIs(Random random, int count, double imageW = 26, double imageH = 22)
    {
        var rois = new List<double>();
        for (var i = 0; i < count; i++)
        {
            double x0, y0, x1, y1;
            switch (i % 6)
            {
                case 0: // inside
                    x0 = random.NextDouble() * imageW * 0.7;
                    y0 = random.NextDouble() * imageH * 0.7;
                    x1 = x0 + 1 + random.NextDouble() * (imageW - x0);
                    y1 = y0 + 1 + random.NextDouble() * (imageH - y0);
                    break;
                case 1: // partly outside, any side
                    x0 = -6 + random.NextDouble() * 10;
                    y0 = -6 + random.NextDouble() * 10;
                    x1 = x0 + 8 + random.NextDouble() * imageW;
                    y1 = y0 + 8 + random.NextDouble() * imageH;
                    break;
                case 2: // fully outside
                    x0 = imageW + 3 + random.NextDouble() * 5;
                    y0 = -10 - random.NextDouble() * 5;
                    x1 = x0 + 4;
                    y1 = y0 + 3;
                    break;
                case 3: // tiny, well under a feature pixel
                    x0 = random.NextDouble() * imageW;
                    y0 = random.NextDouble() * imageH;
                    x1 = x0 + random.NextDouble() * 0.8;
                    y1 = y0 + random.NextDouble() * 0.8;
                    break;
                case 4: // zero size
                    x0 = x1 = random.NextDouble() * imageW;
                    y0 = y1 = random.NextDouble() * imageH;
                    break;
                default: // inverted
                    x0 = 5 + random.NextDouble() * 10;
                    y0 = 5 + random.NextDouble() * 10;
                    x1 = x0 - 3 * random.NextDouble();
                    y1 = y0 - 3 * random.NextDouble();
                    break;
            }
            rois.AddRange([random.Next(Batch), x0, y0, x1, y1]);
        }
        return [.. rois];
    }

    static double[] RandomValues(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => random.NextDouble() * 2 - 1)];

    static double[] ToDoubles(Tensor t) => t.to(ScalarType.Float64).contiguous().data<double>().ToArray();

    static void AssertAllClose(double[] actual, double[] expected, double tolerance, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (var i = 0; i < actual.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance * Math.Max(1, Math.Abs(expected[i]))), $"{what}[{i}]");
    }

    [TestCase(true, 0)]
    [TestCase(true, 2)]
    [TestCase(false, 0)]
    [TestCase(false, 2)]
    public void ROIAlign_matches_bruteforce_float64_on_random_rois(bool aligned, int samplingRatio)
    {
        using var scope = NewDisposeScope();
        var random = new Random(17 + samplingRatio + (aligned ? 100 : 0));
        var features = RandomValues(random, Batch * Channels * Height * Width);
        var rois = MakeROIs(random, 36);
        var reference = new ROIAlignReference(Batch, Channels, Height, Width, 5, 4, 0.5, samplingRatio, aligned);

        var input = tensor(features, [Batch, Channels, Height, Width], ScalarType.Float64);
        var output = ROIAlign.Apply(input, tensor(rois, [rois.Length / 5, 5], ScalarType.Float64), (5, 4), 0.5, samplingRatio, aligned);

        Assert.That(output.shape, Is.EqualTo(new long[] { rois.Length / 5, Channels, 5, 4 }));
        Assert.That(output.dtype, Is.EqualTo(ScalarType.Float64));
        AssertAllClose(ToDoubles(output), reference.Forward(features, rois), 1e-12, "output");
    }

    [TestCase(true, 0)]
    [TestCase(false, 2)]
    public void ROIAlign_float32_matches_bruteforce_within_float_rounding(bool aligned, int samplingRatio)
    {
        using var scope = NewDisposeScope();
        var random = new Random(5);
        // Values that float32 holds exactly, so the reference sees the same input.
        var features = RandomValues(random, Batch * Channels * Height * Width).Select(v => (double)(float)v).ToArray();
        var rois = MakeROIs(random, 30).Select(v => (double)(float)v).ToArray();
        var reference = new ROIAlignReference(Batch, Channels, Height, Width, 7, 7, 0.5, samplingRatio, aligned);

        var output = ROIAlign.Apply(tensor(features, [Batch, Channels, Height, Width], ScalarType.Float32),
            tensor(rois, [rois.Length / 5, 5], ScalarType.Float32), (7, 7), 0.5, samplingRatio, aligned);

        Assert.That(output.dtype, Is.EqualTo(ScalarType.Float32));
        AssertAllClose(ToDoubles(output), reference.Forward(features, rois), 2e-5, "output");
    }

    [Test]
    public void ROIAlign_over_many_channels_splits_work_across_threads_and_still_matches_bruteforce()
    {
        using var scope = NewDisposeScope();
        var random = new Random(23);
        const int channels = 40;
        var features = RandomValues(random, Batch * channels * Height * Width);
        var rois = MakeROIs(random, 30);
        var reference = new ROIAlignReference(Batch, channels, Height, Width, 7, 7, 0.5, 0, true);
        var gradOutput = RandomValues(random, rois.Length / 5 * channels * 49);

        var input = tensor(features, [Batch, channels, Height, Width], ScalarType.Float64).requires_grad_();
        var output = ROIAlign.Apply(input, tensor(rois, [rois.Length / 5, 5], ScalarType.Float64), (7, 7), 0.5, 0, true);
        (output * tensor(gradOutput, output.shape, ScalarType.Float64)).sum().backward();

        AssertAllClose(ToDoubles(output), reference.Forward(features, rois), 1e-12, "output");
        AssertAllClose(ToDoubles(input.grad!), reference.Backward(gradOutput, rois), 1e-12, "input gradient");
    }

    [TestCase(true, 0)]
    [TestCase(false, 2)]
    public void ROIAlign_backward_matches_bruteforce_adjoint(bool aligned, int samplingRatio)
    {
        using var scope = NewDisposeScope();
        var random = new Random(31 + samplingRatio);
        var features = RandomValues(random, Batch * Channels * Height * Width);
        var rois = MakeROIs(random, 36);
        var reference = new ROIAlignReference(Batch, Channels, Height, Width, 3, 4, 0.5, samplingRatio, aligned);
        var gradOutput = RandomValues(random, rois.Length / 5 * Channels * 12);

        var input = tensor(features, [Batch, Channels, Height, Width], ScalarType.Float64).requires_grad_();
        var roiTensor = tensor(rois, [rois.Length / 5, 5], ScalarType.Float64).requires_grad_();
        var output = ROIAlign.Apply(input, roiTensor, (3, 4), 0.5, samplingRatio, aligned);
        (output * tensor(gradOutput, output.shape, ScalarType.Float64)).sum().backward();

        AssertAllClose(ToDoubles(input.grad!), reference.Backward(gradOutput, rois), 1e-12, "input gradient");
        Assert.That(roiTensor.grad is null || roiTensor.grad.abs().max().item<double>() == 0, Is.True, "rois get no gradient");
    }

    [Test]
    public void ROIAlign_backward_matches_finite_differences_in_float64()
    {
        using var scope = NewDisposeScope();
        var random = new Random(41);
        var features = RandomValues(random, Batch * Channels * Height * Width);
        var rois = tensor(MakeROIs(random, 18), [18, 5], ScalarType.Float64);
        var weights = tensor(RandomValues(random, 18 * Channels * 2 * 3), [18, Channels, 2, 3], ScalarType.Float64);
        double Loss(double[] x) =>
            (ROIAlign.Apply(tensor(x, [Batch, Channels, Height, Width], ScalarType.Float64), rois, (2, 3), 0.5, 0, true) * weights)
                .sum().item<double>();

        var input = tensor(features, [Batch, Channels, Height, Width], ScalarType.Float64).requires_grad_();
        (ROIAlign.Apply(input, rois, (2, 3), 0.5, 0, true) * weights).sum().backward();
        var gradient = ToDoubles(input.grad!);

        const double step = 1e-4;
        foreach (var i in Enumerable.Range(0, 60).Select(_ => random.Next(features.Length)).Append(0))
        {
            var plus = (double[])features.Clone();
            var minus = (double[])features.Clone();
            plus[i] += step;
            minus[i] -= step;
            var numeric = (Loss(plus) - Loss(minus)) / (2 * step);
            Assert.That(gradient[i], Is.EqualTo(numeric).Within(1e-8), $"d loss / d input[{i}]");
        }
    }

    [Test]
    public void ROIAlign_module_applies_its_fixed_options()
    {
        using var scope = NewDisposeScope();
        var random = new Random(3);
        var features = RandomValues(random, Batch * Channels * Height * Width);
        var rois = MakeROIs(random, 12);
        var input = tensor(features, [Batch, Channels, Height, Width], ScalarType.Float64);
        var roiTensor = tensor(rois, [12, 5], ScalarType.Float64);
        using var module = new ROIAlign((2, 2), 0.25, 2, aligned: false);

        var viaModule = module.call(input, roiTensor);

        Assert.That(ToDoubles(viaModule),
            Is.EqualTo(ToDoubles(ROIAlign.Apply(input, roiTensor, (2, 2), 0.25, 2, aligned: false))));
        Assert.That(module.parameters().Count(), Is.Zero);
    }

    [Test]
    public void ROIAlign_counts_samples_beyond_the_map_as_zeros_in_the_average()
    {
        using var scope = NewDisposeScope();
        var input = full([1, 1, 8, 8], 3.0, ScalarType.Float32);
        // Inside the map; x in [6, 9] with 2 x 2 samples per bin; beyond x = W + 1 entirely.
        var rois = tensor(new float[] { 0, 1, 1, 6, 6, 0, 6, 2, 9, 4, 0, 10, 2, 12, 4 }, [3, 5]);

        var output = ROIAlign.Apply(input, rois, (1, 2), 1.0, 2, aligned: false);
        var values = output.contiguous().data<float>().ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(values.Take(2), Is.All.EqualTo(3f).Within(1e-6), "inside");
            // Left bin samples x = 6.375, 7.125; x up to W = 8 clamps to the last column.
            Assert.That(values[2], Is.EqualTo(3f).Within(1e-6), "clamped at the edge");
            // Right bin samples x = 7.875 (kept) and 8.625 (> W: zero but counted): 2 of 4 samples.
            Assert.That(values[3], Is.EqualTo(1.5f).Within(1e-6), "half the samples outside");
            Assert.That(values.Skip(4), Is.All.EqualTo(0f), "outside");
        });
    }

    [Test]
    public void ROIAlign_samples_exactly_at_minus_one_and_at_the_map_size_read_the_edge()
    {
        using var scope = NewDisposeScope();
        // Value = column + 1 on an 8 x 8 map; one sample per ROI at y = 3 and x = 8 (= W), -1, 8.5 (beyond W).
        var input = (arange(8, ScalarType.Float32) + 1).expand(1, 1, 8, 8).contiguous();
        var rois = tensor(new float[] { 0, 7, 2, 9, 4, 0, -2, 2, 0, 4, 0, 7.5f, 2, 9.5f, 4 }, [3, 5]);

        var output = ROIAlign.Apply(input, rois, (1, 1), 1.0, 1, aligned: false);

        Assert.That(output.contiguous().data<float>().ToArray(), Is.EqualTo(new[] { 8f, 1f, 0f }));
    }

    [Test]
    public void ROIAlign_rejects_bad_shapes_and_batch_indices()
    {
        using var scope = NewDisposeScope();
        var input = zeros(1, 2, 4, 4);
        Assert.Multiple(() =>
        {
            Assert.That(() => ROIAlign.Apply(zeros(2, 4, 4), zeros(1, 5), (2, 2), 1, 0, true), Throws.ArgumentException);
            Assert.That(() => ROIAlign.Apply(input, zeros(1, 4), (2, 2), 1, 0, true), Throws.ArgumentException);
            Assert.That(() => ROIAlign.Apply(input, tensor(new float[] { 1, 0, 0, 2, 2 }, [1, 5]), (2, 2), 1, 0, true),
                Throws.ArgumentException.With.Message.Contains("batch index"));
            Assert.That(() => ROIAlign.Apply(input, zeros(1, 5), (0, 2), 1, 0, true), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => ROIAlign.Apply(input, zeros(1, 5), (2, 2), 1, -1, true), Throws.InstanceOf<ArgumentOutOfRangeException>());
        });
    }

    [Test]
    public void ROIAlign_with_no_rois_gives_an_empty_result_and_a_zero_gradient()
    {
        using var scope = NewDisposeScope();
        var input = ones([1, 2, 4, 4], requires_grad: true);
        var output = ROIAlign.Apply(input, zeros(0, 5), (2, 2), 1, 0, true);
        output.sum().backward();

        Assert.That(output.shape, Is.EqualTo(new long[] { 0, 2, 2, 2 }));
        Assert.That(input.grad!.abs().sum().item<float>(), Is.Zero);
    }

    // Found by the GPU-machine check (tests/D2.DeviceChecks): a randomly initialised Mask R-CNN predicted only
    // zero-size boxes, and the mask head's ROIAlign call, in which no ROI samples anything, threw IndexOutOfRange.
    [Test]
    public void RoiAlign_where_every_roi_is_empty_gives_zeros()
    {
        using var scope = NewDisposeScope();
        // Enough channels to take the parallel path as well as the serial one.
        foreach (var channels in new[] { 2, 512 })
        {
            var input = ones([1, channels, 8, 8], requires_grad: true);
            // Zero-size boxes (aligned, adaptive sampling: no sample) and boxes wholly outside the map (no sample inside).
            var rois = tensor(new float[] { 0, 3, 3, 3, 3, 0, 5, 2, 5, 2, 0, 100, 100, 120, 120, 0, -50, -50, -30, -30 }, [4, 5]);
            var output = ROIAlign.Apply(input, rois, (14, 14), 1, 0, true);
            output.sum().backward();
            Assert.That(output.shape, Is.EqualTo(new long[] { 4, channels, 14, 14 }));
            Assert.That(output.abs().sum().item<float>(), Is.Zero, "no ROI samples anything");
            Assert.That(input.grad!.abs().sum().item<float>(), Is.Zero);
        }
    }

    [Test]
    public void ROIAlign_computes_half_precision_input_in_float32()
    {
        using var scope = NewDisposeScope();
        var input = full([1, 1, 4, 4], 2.0, ScalarType.Float16);
        var output = ROIAlign.Apply(input, tensor(new float[] { 0, 0, 0, 4, 4 }, [1, 5]), (2, 2), 1, 0, true);

        Assert.That(output.dtype, Is.EqualTo(ScalarType.Float16));
        Assert.That(output.to(ScalarType.Float32).data<float>().ToArray(), Is.All.EqualTo(2f));
    }
}
