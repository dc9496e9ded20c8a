using BenchmarkDotNet.Attributes;
using D2.Detection;
using TorchSharp;
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

    [GlobalSetup]
    public void Setup() => _x = ones(64);

    [GlobalCleanup]
    public void Cleanup() => _x.Dispose();

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
