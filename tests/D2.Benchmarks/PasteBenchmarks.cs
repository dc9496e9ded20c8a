using BenchmarkDotNet.Attributes;
using D2.Detection.Layers;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>
/// paste_masks_in_image for 100 detections (28 x 28 soft masks) into a 480 x 640 image: the CPU path (each mask over its
/// box, Detectron2's skip_empty) against the device path (whole image in chunks, Detectron2's GPU strategy) run on CPU.
/// </summary>
public class PasteBenchmarks
{
    const int Count = 100, Height = 480, Width = 640;
    Tensor _masks = null!;
    Boxes _boxes = null!;

    [GlobalSetup]
    public void Setup()
    {
        var generator = new Generator(5);
        _masks = rand([Count, 28, 28], generator: generator);
        _boxes = new Boxes(Proposals.Random(Count, Width, Height, 16, 300, seed: 6));
        using var scope = NewDisposeScope();
        var cpu = Postprocessing.PasteMasksInImage(_masks, _boxes, (Height, Width));
        using var forced = TensorOpPath.Force();
        var device = Postprocessing.PasteMasksInImage(_masks, _boxes, (Height, Width));
        if (cpu.ne(device).sum().item<long>() != 0)
            throw new InvalidOperationException("The two paste paths differ.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _masks.Dispose();
        _boxes.Tensor.Dispose();
    }

    [Benchmark(Baseline = true, Description = "paste: CPU path (per box)")]
    public long CpuPath()
    {
        using var pasted = Postprocessing.PasteMasksInImage(_masks, _boxes, (Height, Width));
        return pasted.numel();
    }

    [Benchmark(Description = "paste: device path (whole image, chunked) on CPU")]
    public long DevicePath()
    {
        using var forced = TensorOpPath.Force();
        using var pasted = Postprocessing.PasteMasksInImage(_masks, _boxes, (Height, Width));
        return pasted.numel();
    }
}
