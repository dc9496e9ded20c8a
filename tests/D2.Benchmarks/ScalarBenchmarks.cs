using BenchmarkDotNet.Attributes;
using D2.Detection;
using D2.Detection.Solver;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>
/// What holding TorchSharp Scalars costs per op (analyzers/D2.Analyzers): TorchSharp's implicit Scalar (created, dropped,
/// freed later by the finalizer thread) against a cached rooted one (TorchScalars) and a `using` local (created and freed
/// on the spot), on a small tensor where the Scalar's share of an op is largest.
/// </summary>
public class ScalarBenchmarks
{
    Tensor _x = null!;
    SGD _torchSharpSGD = null!;
    SGD _scalarSafeSGD = null!;

    [GlobalSetup]
    public void Setup()
    {
        _x = ones(64);
        // An optimizer step over 160 parameters (a ResNet-50-FPN Mask R-CNN has ~180 trainable tensors), two groups,
        // momentum 0.9 and weight decay as Detectron2's defaults; the gradients stay set, so each step does the full update.
        SGD.ParamGroup[] Groups() =>
        [
            new([.. Enumerable.Range(0, 80).Select(_ => Parameter())], lr: 0.02, momentum: 0.9, weight_decay: 1e-4),
            new([.. Enumerable.Range(0, 80).Select(_ => Parameter())], lr: 0.04, momentum: 0.9, weight_decay: 0),
        ];
        _torchSharpSGD = optim.SGD(Groups(), 0.02, momentum: 0.9, weight_decay: 1e-4);
        _scalarSafeSGD = new ScalarSafeSGD(Groups(), 0.02, momentum: 0.9, dampening: 0, weightDecay: 1e-4, nesterov: false);
    }

    static Parameter Parameter()
    {
        var p = new Parameter(randn(256));
        p.grad = randn(256);
        return p;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _x.Dispose();
        _torchSharpSGD.Dispose();
        _scalarSafeSGD.Dispose();
    }

    [Benchmark(Description = "SGD step, 160 params: TorchSharp's")]
    public void StepTorchSharpSGD()
    {
        using var scope = NewDisposeScope();
        _torchSharpSGD.step();
    }

    [Benchmark(Description = "SGD step, 160 params: ScalarSafeSGD")]
    public void StepScalarSafeSGD()
    {
        using var scope = NewDisposeScope();
        _scalarSafeSGD.step();
    }

    [Benchmark(Baseline = true, Description = "x.mul(0.5), implicit Scalar")]
    public void MulImplicit()
    {
        using var y = _x.mul(0.5);
    }

    [Benchmark(Description = "x.mul(TorchScalars.HalfFloat)")]
    public void MulCached()
    {
        using var y = _x.mul(TorchScalars.HalfFloat);
    }

    [Benchmark(Description = "using s = 0.5.ToScalar(); x.mul(s)")]
    public void MulUsingLocal()
    {
        using var s = 0.5.ToScalar();
        using var y = _x.mul(s);
    }

    [Benchmark(Description = "x + x (hidden alpha 1)")]
    public void AddOperator()
    {
        using var y = _x + _x;
    }

    [Benchmark(Description = "x.add(x, TorchScalars.One)")]
    public void AddHeldAlpha()
    {
        using var y = _x.add(_x, TorchScalars.One);
    }
}
