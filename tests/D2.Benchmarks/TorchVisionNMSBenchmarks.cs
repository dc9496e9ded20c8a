using BenchmarkDotNet.Attributes;
using D2.Detection.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>
/// Ours against TorchSharp's torchvision.ops.nms (a loop of tensor ops per kept box, far slower than either of our
/// paths) on 1,000 proposals at 0.7: a smaller set than <see cref="NMSBenchmarks"/> so that the peer finishes in
/// BenchmarkDotNet's time limit on a loaded machine.
/// </summary>
public class TorchVisionNMSBenchmarks
{
    const int Count = 1000;
    const double Threshold = 0.7;
    Tensor _boxes = null!;
    Tensor _scores = null!;

    [GlobalSetup]
    public void Setup()
    {
        _boxes = Proposals.Random(Count, 1333, 800, 16, 512, seed: 1);
        _scores = rand(Count, generator: new Generator(2));
        // Same kept set, or the comparison means nothing (scores are distinct, so tie order plays no part).
        using var scope = NewDisposeScope();
        var ours = NMS.Apply(_boxes, _scores, Threshold);
        var peer = torchvision.ops.nms(_boxes, _scores, Threshold);
        if (!NMSBenchmarks.Same(ours, peer))
            throw new InvalidOperationException($"NMS results differ: ours kept {ours.shape[0]}, torchvision {peer.shape[0]}.");
        Console.WriteLine($"// NMS keeps {ours.shape[0]} of {Count} boxes (both implementations agree).");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _boxes.Dispose();
        _scores.Dispose();
    }

    [Benchmark(Baseline = true, Description = "NMS 1000, 0.7: torchvision.ops.nms (TorchSharp)")]
    public long TorchVisionNMS()
    {
        using var keep = torchvision.ops.nms(_boxes, _scores, Threshold);
        return keep.shape[0];
    }

    [Benchmark(Description = "NMS 1000, 0.7: managed kernel (CPU path)")]
    public long Managed()
    {
        using var keep = NMS.Apply(_boxes, _scores, Threshold);
        return keep.shape[0];
    }

    [Benchmark(Description = "NMS 1000, 0.7: tensor-op (CUDA path) on CPU")]
    public long TensorOps()
    {
        using var forced = TensorOpPath.Force();
        using var keep = NMS.Apply(_boxes, _scores, Threshold);
        return keep.shape[0];
    }
}
