using BenchmarkDotNet.Attributes;
using D2.Detection.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>
/// NMS over 5,000 RPN-like proposals of an 800 x 1333 image at RPN's threshold 0.7, and batched NMS over 5,000 boxes
/// in 80 categories at the box head's 0.5: the managed kernel (the CPU path) against the tensor-op path (the CUDA
/// path, forced onto CPU tensors). The slow torchvision peer has its own class, <see cref="TorchVisionNMSBenchmarks"/>.
/// </summary>
public class NMSBenchmarks
{
    const int Count = 5000, Categories = 80;
    Tensor _boxes = null!;
    Tensor _scores = null!;
    Tensor _classes = null!;

    [GlobalSetup]
    public void Setup()
    {
        _boxes = Proposals.Random(Count, 1333, 800, 16, 512, seed: 1);
        _scores = rand(Count, generator: new Generator(2));
        _classes = randint(0, Categories, [Count], generator: new Generator(3));
        // Same kept sets, or the comparison means nothing.
        using var scope = NewDisposeScope();
        var kernel = NMS.Apply(_boxes, _scores, 0.7);
        var kernelBatched = NMS.BatchedNMS(_boxes, _scores, _classes, 0.5);
        Tensor ops, opsBatched;
        using (TensorOpPath.Force())
        {
            ops = NMS.Apply(_boxes, _scores, 0.7);
            opsBatched = NMS.BatchedNMS(_boxes, _scores, _classes, 0.5);
        }
        if (!Same(kernel, ops) || !Same(kernelBatched, opsBatched))
            throw new InvalidOperationException("The managed and tensor-op NMS keep different boxes.");
        Console.WriteLine($"// NMS keeps {kernel.shape[0]} of {Count} boxes; batched NMS ({Categories} categories) {kernelBatched.shape[0]}; both paths agree.");
    }

    internal static bool Same(Tensor a, Tensor b) => a.shape[0] == b.shape[0] && a.eq(b).all().item<bool>();

    [GlobalCleanup]
    public void Cleanup()
    {
        _boxes.Dispose();
        _scores.Dispose();
        _classes.Dispose();
    }

    [Benchmark(Baseline = true, Description = "NMS 5000, 0.7: managed kernel (CPU path)")]
    public long Managed()
    {
        using var keep = NMS.Apply(_boxes, _scores, 0.7);
        return keep.shape[0];
    }

    [Benchmark(Description = "NMS 5000, 0.7: tensor-op (CUDA path) on CPU")]
    public long TensorOps()
    {
        using var forced = TensorOpPath.Force();
        using var keep = NMS.Apply(_boxes, _scores, 0.7);
        return keep.shape[0];
    }

    [Benchmark(Description = "batched NMS 5000, 80 categories, 0.5: managed kernel (CPU path)")]
    public long BatchedManaged()
    {
        using var keep = NMS.BatchedNMS(_boxes, _scores, _classes, 0.5);
        return keep.shape[0];
    }

    [Benchmark(Description = "batched NMS 5000, 80 categories, 0.5: tensor-op (CUDA path) on CPU")]
    public long BatchedTensorOps()
    {
        using var forced = TensorOpPath.Force();
        using var keep = NMS.BatchedNMS(_boxes, _scores, _classes, 0.5);
        return keep.shape[0];
    }
}
