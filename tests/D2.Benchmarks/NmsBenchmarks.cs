using BenchmarkDotNet.Attributes;
using D2.Detection.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>NMS over 5,000 RPN-like proposals of an 800 x 1333 image at RPN's threshold 0.7: ours against TorchSharp's torchvision.</summary>
public class NmsBenchmarks
{
    const int Count = 5000;
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
        var ours = NMS.Nms(_boxes, _scores, Threshold);
        var peer = torchvision.ops.nms(_boxes, _scores, Threshold);
        if (ours.shape[0] != peer.shape[0] || !ours.eq(peer).all().item<bool>())
            throw new InvalidOperationException($"NMS results differ: ours kept {ours.shape[0]}, torchvision {peer.shape[0]}.");
        Console.WriteLine($"// NMS keeps {ours.shape[0]} of {Count} boxes (both implementations agree).");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _boxes.Dispose();
        _scores.Dispose();
    }

    [Benchmark(Baseline = true, Description = "torchvision.ops.nms (TorchSharp)")]
    public long TorchVisionNms()
    {
        using var keep = torchvision.ops.nms(_boxes, _scores, Threshold);
        return keep.shape[0];
    }

    [Benchmark(Description = "D2 NMS.Nms (managed)")]
    public long D2Nms()
    {
        using var keep = NMS.Nms(_boxes, _scores, Threshold);
        return keep.shape[0];
    }

    [Benchmark(Description = "D2 NMS.Nms (tensor-op, the CUDA path, on CPU)")]
    public long D2NmsTensorOps()
    {
        using var forced = TensorOpPath.Force();
        using var keep = NMS.Nms(_boxes, _scores, Threshold);
        return keep.shape[0];
    }
}
