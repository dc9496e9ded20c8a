using BenchmarkDotNet.Attributes;
using D2.Detection.Config;
using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>
/// Mask R-CNN R50-FPN (COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x, on CPU) at 512 and 800 px short side (4:3 images),
/// batch 1 and 2: inference, and a training forward + backward. Inference at each size and batch is the baseline of its row.
/// </summary>
public class ModelBenchmarks
{
    GeneralizedRCNN _model = null!;
    ModelInput[] _batch = null!;

    [Params(512, 800)]
    public int ShortSide { get; set; }

    [Params(1, 2)]
    public int BatchSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        manual_seed(1);
        _model = ModelBuilder.Build(ModelZoo.GetConfig("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml", ["MODEL.DEVICE", "cpu"]));
        var width = ShortSide * 4 / 3;
        _batch = [.. Enumerable.Range(0, BatchSize).Select(i => SyntheticInputs.Image(ShortSide, width, seed: i))];
    }

    [GlobalCleanup]
    public void Cleanup() => _model.Dispose();

    [Benchmark(Baseline = true, Description = "inference")]
    public long Inference()
    {
        _model.eval();
        using var scope = NewDisposeScope();
        return _model.Inference(_batch).Sum(r => r.Length);
    }

    [Benchmark(Description = "training forward + backward")]
    public float TrainingStep()
    {
        _model.train();
        using var scope = NewDisposeScope();
        _model.zero_grad();
        var total = _model.ForwardTraining(_batch).Values.Aggregate((a, b) => a + b);
        total.backward();
        return total.item<float>();
    }
}
