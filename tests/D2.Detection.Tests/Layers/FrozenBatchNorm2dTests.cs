using D2.Detection.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Layers;

public class FrozenBatchNorm2dTests
{
    [Test]
    public void FrozenBatchNorm2d_matches_the_batch_norm_formula_per_channel()
    {
        using var scope = NewDisposeScope();
        double[] weight = [1.5, -0.5, 2.0], bias = [0.1, 0.2, -0.3], mean = [0.5, -1.0, 2.0], variance = [0.25, 4.0, 1e-6];
        using var bn = new FrozenBatchNorm2d(3);
        bn.load_state_dict(new Dictionary<string, Tensor>
        {
            ["weight"] = tensor(weight, ScalarType.Float32),
            ["bias"] = tensor(bias, ScalarType.Float32),
            ["running_mean"] = tensor(mean, ScalarType.Float32),
            ["running_var"] = tensor(variance, ScalarType.Float32),
        });
        var random = new Random(2);
        var x = Enumerable.Range(0, 2 * 3 * 4 * 5).Select(_ => random.NextDouble() * 4 - 2).ToArray();

        var y = bn.call(tensor(x, [2, 3, 4, 5], ScalarType.Float32)).data<float>().ToArray();

        for (var i = 0; i < x.Length; i++)
        {
            var c = i / 20 % 3;
            var expected = (x[i] - mean[c]) / Math.Sqrt(variance[c] + 1e-5) * weight[c] + bias[c];
            Assert.That(y[i], Is.EqualTo(expected).Within(1e-4 * Math.Max(1, Math.Abs(expected))), $"element {i} (channel {c})");
        }
    }

    [Test]
    public void FrozenBatchNorm2d_starts_as_the_identity_and_holds_buffers_only()
    {
        using var scope = NewDisposeScope();
        using var bn = new FrozenBatchNorm2d(4);
        var x = randn(2, 4, 3, 3);

        Assert.That(bn.call(x).allclose(x, rtol: 1e-6, atol: 1e-6), Is.True);
        Assert.That(bn.parameters().Count(), Is.Zero);
        Assert.That(bn.state_dict().Keys, Is.EquivalentTo(new[] { "weight", "bias", "running_mean", "running_var" }));
        Assert.That(bn.state_dict()["running_var"].data<float>().ToArray(), Is.All.EqualTo(1f - 1e-5f));
    }

    [Test]
    public void FrozenBatchNorm2d_passes_gradient_to_its_input_but_never_to_its_buffers()
    {
        using var scope = NewDisposeScope();
        using var bn = new FrozenBatchNorm2d(2);
        bn.load_state_dict(new Dictionary<string, Tensor>
        {
            ["weight"] = tensor(new[] { 2f, 3f }),
            ["bias"] = tensor(new[] { 1f, 1f }),
            ["running_mean"] = zeros(2),
            ["running_var"] = tensor(new[] { 1f - 1e-5f, 4f - 1e-5f }),
        });
        var x = randn([1, 2, 2, 2], requires_grad: true);

        bn.call(x).sum().backward();

        var grad = x.grad!.data<float>().ToArray();
        Assert.That(grad.Take(4), Is.All.EqualTo(2f).Within(1e-5));
        Assert.That(grad.Skip(4), Is.All.EqualTo(1.5f).Within(1e-5));
        Assert.That(bn.buffers().All(b => !b.requires_grad && b.grad is null), Is.True);
    }

    [Test]
    public void FrozenBatchNorm2d_moved_to_float64_uses_the_moved_buffers()
    {
        using var scope = NewDisposeScope();
        using var bn = new FrozenBatchNorm2d(2);
        bn.to(ScalarType.Float64);
        bn.load_state_dict(new Dictionary<string, Tensor>
        {
            ["weight"] = tensor(new[] { 2.0, 3.0 }),
            ["bias"] = tensor(new[] { 0.5, -0.5 }),
            ["running_mean"] = zeros(2, ScalarType.Float64),
            ["running_var"] = full(2, 1 - 1e-5, ScalarType.Float64),
        });

        var y = bn.call(ones([1, 2, 1, 1], ScalarType.Float64));

        Assert.That(bn.state_dict()["weight"].dtype, Is.EqualTo(ScalarType.Float64));
        Assert.That(y.dtype, Is.EqualTo(ScalarType.Float64));
        Assert.That(y.data<double>().ToArray(), Is.EqualTo(new[] { 2.5, 2.5 }).Within(1e-12));
    }
}
