using BenchmarkDotNet.Attributes;
using D2.Detection.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>
/// The box head's pooling of Mask R-CNN R50-FPN: 512 ROIs of an 800 x 1333 image (padded to 800 x 1344) over p2..p5,
/// 256 channels, 7 x 7 output, ROIAlignV2. Ours (adaptive sampling, ratio 0, as Detectron2 configures it; and ratio 2)
/// against the grid_sample formulation (ratio 2, the most a fixed-ratio formulation can offer), forward alone and
/// forward + backward to the feature maps.
/// </summary>
public class ROIAlignBenchmarks
{
    const int Channels = 256, OutputSize = 7, ROICount = 512;
    static readonly int[] Strides = [4, 8, 16, 32];
    Tensor[] _features = null!;
    Tensor[] _trainableFeatures = null!;
    Tensor _boxes = null!;
    Tensor _upstream = null!;
    ROIPooler _adaptive = null!;
    ROIPooler _ratio2 = null!;

    [GlobalSetup]
    public void Setup()
    {
        var generator = new Generator(3);
        _features = [.. Strides.Select(s => randn([1, Channels, 800 / s, 1344 / s], generator: generator))];
        _trainableFeatures = [.. _features.Select(f => f.detach().requires_grad_())];
        _boxes = Proposals.Random(ROICount, 1333, 800, 16, 600, seed: 4);
        _upstream = randn([ROICount, Channels, OutputSize, OutputSize], generator: generator);
        double[] scales = [.. Strides.Select(s => 1.0 / s)];
        _adaptive = new ROIPooler(OutputSize, scales, 0, "ROIAlignV2");
        _ratio2 = new ROIPooler(OutputSize, scales, 2, "ROIAlignV2");

        // Same op at ratio 2, or the comparison means nothing.
        using var scope = NewDisposeScope();
        var difference = (_ratio2.call(_features, [_boxes]) - GridSamplePool(_features)).abs().max().item<float>();
        if (difference > 1e-3f)
            throw new InvalidOperationException($"grid_sample ROIAlign differs from ours by {difference}.");
        var levels = ROIPooler.AssignBoxesToLevels([_boxes], 2, 5, 224, 4).bincount(null, minlength: 4).data<long>().ToArray();
        Console.WriteLine($"// ROIs per level p2..p5: {string.Join(", ", levels)}; ratio-2 results agree within {difference:G3}.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in _features.Concat(_trainableFeatures).Append(_boxes).Append(_upstream))
            t.Dispose();
        _adaptive.Dispose();
        _ratio2.Dispose();
    }

    [Benchmark(Baseline = true, Description = "forward: grid_sample, ratio 2")]
    public long GridSampleForward()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return GridSamplePool(_features).numel();
    }

    [Benchmark(Description = "forward: D2 ROIAlign, ratio 0 (adaptive)")]
    public long D2Forward()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return _adaptive.call(_features, [_boxes]).numel();
    }

    [Benchmark(Description = "forward: D2 ROIAlign, ratio 2")]
    public long D2ForwardRatio2()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return _ratio2.call(_features, [_boxes]).numel();
    }

    [Benchmark(Description = "forward: tensor-op ROIAlign (CUDA path on CPU), ratio 0 (adaptive)")]
    public long TensorOpForward()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var forced = D2.Detection.Layers.TensorOpPath.Force();
        return _adaptive.call(_features, [_boxes]).numel();
    }

    [Benchmark(Description = "fwd+bwd: tensor-op ROIAlign (CUDA path on CPU), ratio 0 (adaptive)")]
    public long TensorOpForwardBackward()
    {
        using var forced = D2.Detection.Layers.TensorOpPath.Force();
        return Backward(_adaptive.call(_trainableFeatures, [_boxes]));
    }

    [Benchmark(Description = "fwd+bwd: grid_sample, ratio 2")]
    public long GridSampleForwardBackward() => Backward(GridSamplePool(_trainableFeatures));

    [Benchmark(Description = "fwd+bwd: D2 ROIAlign, ratio 0 (adaptive)")]
    public long D2ForwardBackward() => Backward(_adaptive.call(_trainableFeatures, [_boxes]));

    [Benchmark(Description = "fwd+bwd: D2 ROIAlign, ratio 2")]
    public long D2ForwardBackwardRatio2() => Backward(_ratio2.call(_trainableFeatures, [_boxes]));

    /// <summary>Gradients of sum(pooled * upstream) with respect to every level, returned rather than accumulated.</summary>
    long Backward(Tensor pooled)
    {
        using var scope = NewDisposeScope();
        var gradients = autograd.grad([(pooled * _upstream).sum()], _trainableFeatures);
        return gradients.Sum(g => g.numel());
    }

    /// <summary>ROIPooler's multi-level logic with <see cref="GridSampleROIAlign"/> in place of ROIAlign.</summary>
    Tensor GridSamplePool(IReadOnlyList<Tensor> features)
    {
        using var scope = NewDisposeScope();
        var levels = ROIPooler.AssignBoxesToLevels([_boxes], 2, 5, 224, 4);
        var rois = ROIPooler.ConvertBoxesToPoolerFormat([_boxes]);
        var output = zeros([ROICount, Channels, OutputSize, OutputSize]);
        for (var level = 0; level < features.Count; level++)
        {
            var indices = (levels == level).nonzero().squeeze(1);
            if (indices.numel() == 0)
                continue;
            var pooled = GridSampleROIAlign.Apply(features[level], rois.index_select(0, indices), OutputSize, 1.0 / Strides[level], 2, aligned: true);
            output.index_put_(pooled, indices);
        }
        return output.MoveToOuterDisposeScope();
    }
}
