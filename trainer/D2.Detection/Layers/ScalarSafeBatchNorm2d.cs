using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace D2.Detection.Layers;

/// <summary>
/// torch's BatchNorm2d (same parameters, buffers and state-dict names) with TorchSharp 0.107's forward, except that the
/// training step's <c>num_batches_tracked += 1</c> uses a held Scalar: TorchSharp's own forward passes an implicit one the
/// GC can finalize while libtorch reads it (see <see cref="TorchScalars"/>).
/// </summary>
public sealed class ScalarSafeBatchNorm2d : BatchNorm
{
#pragma warning disable D2S002 // The base constructor only registers parameters and buffers; forward (the hazard) is replaced below.
    public ScalarSafeBatchNorm2d(long numFeatures, double eps = 1e-5, double momentum = 0.1)
        : base(numFeatures, eps, momentum, affine: true, track_running_stats: true, device: null, dtype: null, name: "BatchNorm2d")
#pragma warning restore D2S002
    {
    }

    protected override void ValidateInputDimensions(Tensor input)
    {
        if (input.ndim != 4)
            throw new ArgumentException($"BatchNorm2d expects (N, C, H, W); got {input.ndim}D input.", nameof(input));
    }

    /// <summary>TorchSharp's BatchNorm.forward, operation for operation.</summary>
    public override Tensor forward(Tensor input)
    {
        ValidateInputDimensions(input);
        var averageFactor = momentum ?? 0.0;
        if (training && track_running_stats && num_batches_tracked is not null)
        {
            num_batches_tracked.add_(TorchScalars.One, TorchScalars.One);
            averageFactor = momentum ?? 1.0 / num_batches_tracked.item<long>();
        }
        var bnTraining = training || running_mean is null && running_var is null;
        var useStats = !training || track_running_stats;
        return F.batch_norm(input, useStats ? running_mean : null, useStats ? running_var : null, weight, bias, bnTraining, averageFactor, eps);
    }
}
