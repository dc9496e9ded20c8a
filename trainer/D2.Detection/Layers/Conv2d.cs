using TorchSharp.Utils;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// Detectron2's Conv2d wrapper: a convolution that owns its <c>weight</c>/<c>bias</c> and an optional <c>norm</c>
/// submodule and activation, so state-dict names read <c>conv1.weight</c>, <c>conv1.norm.running_mean</c> as in Detectron2.
/// </summary>
public sealed class Conv2d : nn.Module<Tensor, Tensor>
{
    // Field names equal the registered names: TorchSharp's to(device/dtype) rebinds fields by name.
#pragma warning disable IDE1006
    private TorchSharp.Modules.Parameter weight;
    private TorchSharp.Modules.Parameter? bias;
#pragma warning restore IDE1006
    [ComponentName(Name = "norm")]
    private readonly nn.Module<Tensor, Tensor>? _norm;
    private readonly Func<Tensor, Tensor>? _activation;
    private readonly long[] _stride, _padding, _dilation;
    private readonly long _groups;

    /// <param name="norm">applied after the convolution (null: none); registered as <c>norm</c></param>
    /// <param name="activation">applied last (null: none), e.g. <c>x => nn.functional.relu(x)</c></param>
    public Conv2d(long inChannels, long outChannels, long kernelSize, long stride = 1, long padding = 0, long dilation = 1,
        long groups = 1, bool bias = true, nn.Module<Tensor, Tensor>? norm = null, Func<Tensor, Tensor>? activation = null)
        : base(nameof(Conv2d))
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: channels ({inChannels} -> {outChannels}) must be divisible by groups ({groups}).");
        weight = new TorchSharp.Modules.Parameter(empty(outChannels, inChannels / groups, kernelSize, kernelSize));
        this.bias = bias ? new TorchSharp.Modules.Parameter(zeros(outChannels)) : null;
        _norm = norm;
        _activation = activation;
        _stride = [stride, stride];
        _padding = [padding, padding];
        _dilation = [dilation, dilation];
        _groups = groups;
        register_parameter(nameof(weight), weight);
        if (this.bias is not null)
            register_parameter(nameof(bias), this.bias);
        if (_norm is not null)
            register_module("norm", _norm);
        // PyTorch's own Conv2d default, replaced by the caller's Detectron2 init (c2_msra_fill / c2_xavier_fill).
        using (no_grad())
            nn.init.kaiming_uniform_(weight, Math.Sqrt(5));
    }

    public TorchSharp.Modules.Parameter Weight => weight;
    public TorchSharp.Modules.Parameter? Bias => bias;
    public nn.Module<Tensor, Tensor>? Norm => _norm;
    public long OutChannels => weight.shape[0];

    /// <summary>
    /// libtorch 2.10's oneDNN dies with SIGFPE (integer division by zero in brgemm_convolution_bwd_strided's blocking
    /// estimate, est_eff_1x1) computing the input gradient of a strided 1x1 convolution on some x64 CPUs (seen on this
    /// project's AMD EPYC build machines: ResNet-50's res4/res5 first blocks at 512 px). A strided 1x1 convolution without
    /// padding is the same sum over the subsampled input, so when that gradient is needed the stride is taken by slicing.
    /// </summary>
    bool StridedPointwiseNeedsWorkaround(Tensor x) =>
        x.requires_grad && weight.shape[2] == 1 && weight.shape[3] == 1 && (_stride[0] > 1 || _stride[1] > 1)
        && _padding[0] == 0 && _padding[1] == 0;

    /// <param name="x">(N, Cin, H, W)</param>
    /// <returns>(N, Cout, H', W')</returns>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = StridedPointwiseNeedsWorkaround(x)
            ? nn.functional.conv2d(x[.., .., TensorIndex.Slice(step: _stride[0]), TensorIndex.Slice(step: _stride[1])], weight, bias, [1, 1], _padding, _dilation, _groups)
            : BatchInvariantConvolution.Apply(x, weight, _stride, _dilation, _groups, input => nn.functional.conv2d(input, weight, bias, _stride, _padding, _dilation, _groups));
        if (_norm is not null)
            y = _norm.forward(y);
        if (_activation is not null)
            y = _activation(y);
        return y.MoveToOuterDisposeScope();
    }
}
