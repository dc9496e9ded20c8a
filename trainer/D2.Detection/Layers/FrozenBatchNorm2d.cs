using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// Detectron2's FrozenBatchNorm2d: batch norm with fixed statistics and affine terms, all four held as buffers (never
/// parameters, so no optimizer sees them and no gradient reaches them). Initialised to the identity, as Detectron2
/// does: weight 1, bias 0, running_mean 0, running_var 1 - eps. State-dict names: weight, bias, running_mean,
/// running_var.
/// </summary>
public sealed class FrozenBatchNorm2d : nn.Module<Tensor, Tensor>
{
    // Field names equal the buffer names, so that TorchSharp's device and dtype moves rebind them.
#pragma warning disable IDE1006
    Tensor weight;
    Tensor bias;
    Tensor running_mean;
    Tensor running_var;
#pragma warning restore IDE1006

    /// <param name="numFeatures">C, the channel count of the (N, C, H, W) input</param>
    /// <param name="eps">added to running_var before the square root</param>
    public FrozenBatchNorm2d(long numFeatures, double eps = 1e-5) : base(nameof(FrozenBatchNorm2d))
    {
        if (numFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, "FrozenBatchNorm2d needs a positive channel count.");
        NumFeatures = numFeatures;
        Eps = eps;
        weight = ones(numFeatures);
        bias = zeros(numFeatures);
        running_mean = zeros(numFeatures);
        using (var epsScalar = eps.ToScalar())
            running_var = ones(numFeatures).sub(epsScalar);
        register_buffer(nameof(weight), weight);
        register_buffer(nameof(bias), bias);
        register_buffer(nameof(running_mean), running_mean);
        register_buffer(nameof(running_var), running_var);
    }

    public long NumFeatures { get; }
    public double Eps { get; }

    /// <param name="x">(N, C, H, W)</param>
    /// <returns>(N, C, H, W): x * scale + shift per channel, scale = weight / sqrt(running_var + eps),
    /// shift = bias - running_mean * scale</returns>
    public override Tensor forward(Tensor x)
    {
        if (x.dim() != 4 || x.shape[1] != NumFeatures)
            throw new ArgumentException($"FrozenBatchNorm2d({NumFeatures}) expects (N, {NumFeatures}, H, W); got shape [{string.Join(", ", x.shape)}].", nameof(x));
        using var scope = NewDisposeScope();
        using var eps = Eps.ToScalar();
        var scale = weight * running_var.add(eps, One).rsqrt();
        var shift = bias - running_mean * scale;
        // Computed in the input's dtype (Detectron2 casts for half-precision inputs).
        // One fused pass (shift + x * scale) instead of a multiply and an add, each over the whole activation.
        var y = addcmul(shift.to(x.dtype).reshape(1, -1, 1, 1), x, scale.to(x.dtype).reshape(1, -1, 1, 1), One);
        return y.MoveToOuterDisposeScope();
    }
}
