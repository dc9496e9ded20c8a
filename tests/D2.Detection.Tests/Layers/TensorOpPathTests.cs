using D2.Detection.Layers;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using D2.Detection.Tests.Modeling;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Layers;

/// <summary>
/// The tensor-op implementations (the CUDA path) forced onto CPU tensors and compared with the managed kernels:
/// ROIAlign forward and backward to 1e-5, NMS keep sets identical, pasted masks identical, and a whole Mask R-CNN
/// inference and training step giving the same instances and losses.
/// </summary>
public class TensorOpPathTests
{
    static Tensor RandomROIs(Generator g, int count, int batch, float imageWidth, float imageHeight, float maxSize)
    {
        var b = randint(0, batch, [count, 1], generator: g).to(ScalarType.Float32);
        var x0 = rand([count, 1], generator: g).mul(imageWidth * 1.2f).sub(imageWidth * 0.1f);
        var y0 = rand([count, 1], generator: g).mul(imageHeight * 1.2f).sub(imageHeight * 0.1f);
        var w = rand([count, 1], generator: g).mul(maxSize);
        var h = rand([count, 1], generator: g).mul(maxSize);
        return cat([b, x0, y0, x0 + w, y0 + h], 1);
    }

    static (Tensor Output, Tensor[] Grads) PoolWithGrads(Tensor[] maps, Tensor rois, Tensor levels, double[] scales,
        int sampling, bool aligned, Tensor upstream, bool force)
    {
        var inputs = maps.Select(m => m.detach().clone().requires_grad_(true)).ToArray();
        using var forced = force ? TensorOpPath.Force() : null;
        var output = ROIAlign.MultiLevelROIAlign(inputs, rois, levels, scales, (7, 5), sampling, aligned);
        output.mul(upstream).sum().backward();
        return (output.detach(), [.. inputs.Select(i => i.grad!)]);
    }

    [TestCase(0, true, ScalarType.Float32)]
    [TestCase(2, true, ScalarType.Float32)]
    [TestCase(0, false, ScalarType.Float32)]
    [TestCase(0, true, ScalarType.Float64)]
    public void ROIAlign_tensor_ops_match_the_kernel_forward_and_backward(int sampling, bool aligned, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        Tensor[] maps = [randn([2, 3, 40, 52], generator: g).to(dtype), randn([2, 3, 20, 26], generator: g).to(dtype), randn([2, 3, 10, 13], generator: g).to(dtype)];
        double[] scales = [1.0 / 4, 1.0 / 8, 1.0 / 16];
        var rois = cat([RandomROIs(g, 60, 2, 208, 160, 150),
            // Degenerate: zero size, inverted, and wholly outside the map.
            tensor(new float[] { 0, 10, 10, 10, 10, 1, 50, 40, 20, 30, 0, 500, 500, 600, 600, 1, -80, -80, -40, -40 }, [4, 5])]).to(dtype);
        // Level -1 and 3 index no map: zero rows on both paths.
        var levels = cat([randint(0, 3, [60], generator: g), tensor(new long[] { 0, 1, -1, 3 })]);
        var upstream = randn([64, 3, 7, 5], generator: g).to(dtype);
        var (kernelOut, kernelGrads) = PoolWithGrads(maps, rois, levels, scales, sampling, aligned, upstream, force: false);
        var (opsOut, opsGrads) = PoolWithGrads(maps, rois, levels, scales, sampling, aligned, upstream, force: true);
        Assert.That(opsOut.abs().sum().to(ScalarType.Float64).item<double>(), Is.GreaterThan(1.0), "the ROIs sample something");
        Assert.That(opsOut.sub(kernelOut).abs().max().to(ScalarType.Float64).item<double>(), Is.LessThanOrEqualTo(1e-5));
        for (var i = 0; i < maps.Length; i++)
            Assert.That(opsGrads[i].sub(kernelGrads[i]).abs().max().to(ScalarType.Float64).item<double>(), Is.LessThanOrEqualTo(1e-5), $"level {i} gradient");
    }

    [TestCase(1L)]
    [TestCase(3000L)]
    public void ROIAlign_tensor_ops_split_into_small_chunks_still_match_the_kernel(long budget)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(13);
        Tensor[] maps = [randn([2, 4, 30, 41], generator: g), randn([2, 4, 15, 21], generator: g)];
        double[] scales = [1.0 / 4, 1.0 / 8];
        // Mixed sizes and aspect ratios, so chunks of one window-size group pad smaller windows to their largest.
        var rois = RandomROIs(g, 40, 2, 164, 120, 120);
        var levels = randint(0, 2, [40], generator: g);
        var upstream = randn([40, 4, 7, 5], generator: g);
        var (kernelOut, kernelGrads) = PoolWithGrads(maps, rois, levels, scales, 0, true, upstream, force: false);
        var inputs = maps.Select(m => m.detach().clone().requires_grad_(true)).ToArray();
        var options = new ROIAlignOptions(7, 5, scales, 0, true);
        var output = ROIAlignTensorOps.Pool(inputs, rois, levels, options, chunkElements: budget);
        output.mul(upstream).sum().backward();
        Assert.That(output.sub(kernelOut).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-5f));
        for (var i = 0; i < maps.Length; i++)
            Assert.That(inputs[i].grad!.sub(kernelGrads[i]).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-5f), $"level {i} gradient");
    }

    [Test]
    public void ROIAlign_tensor_ops_reject_a_batch_index_outside_the_batch()
    {
        using var scope = NewDisposeScope();
        using var forced = TensorOpPath.Force();
        var map = randn([2, 3, 10, 10]);
        var rois = tensor(new float[] { 0, 1, 1, 20, 20, 2, 1, 1, 20, 20 }, [2, 5]);
        var error = Assert.Throws<ArgumentException>(() => ROIAlign.Apply(map, rois, (7, 7), 0.25, 0, true));
        Assert.That(error!.Message, Does.Contain("ROI 1").And.Contain("batch index"));
    }

    [Test]
    public void ROIAlign_single_level_and_half_precision_match_the_kernel()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(5);
        var map = randn([1, 4, 17, 23], generator: g);
        var rois = RandomROIs(g, 30, 1, 92, 68, 60);
        var kernel = ROIAlign.Apply(map, rois, (14, 14), 0.25, 0, true);
        Tensor ops;
        using (TensorOpPath.Force())
            ops = ROIAlign.Apply(map, rois, (14, 14), 0.25, 0, true);
        Assert.That(ops.sub(kernel).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-5f));
        var half = map.to(ScalarType.BFloat16);
        var kernelHalf = ROIAlign.Apply(half, rois, (7, 7), 0.25, 0, true);
        using (TensorOpPath.Force())
            Assert.That(ROIAlign.Apply(half, rois, (7, 7), 0.25, 0, true).to(ScalarType.Float32).sub(kernelHalf.to(ScalarType.Float32)).abs().max().item<float>(),
                Is.LessThanOrEqualTo(0.02f), "bf16 rounding of the same float32 result");
    }

    static void AssertIdentical(Tensor actual, Tensor expected)
    {
        Assert.That(actual.shape, Is.EqualTo(expected.shape));
        Assert.That(actual.dtype, Is.EqualTo(expected.dtype));
        Assert.That(actual.ne(expected).sum().item<long>(), Is.Zero, "differing elements");
    }

    static long[] Keep(Func<Tensor> nms, bool force)
    {
        using var forced = force ? TensorOpPath.Force() : null;
        return nms().data<long>().ToArray();
    }

    [TestCase(0.5)]
    [TestCase(0.7)]
    [TestCase(0.0)]
    [TestCase(1.0 / 3)]
    public void NMS_tensor_ops_keep_exactly_what_the_kernel_keeps(double threshold)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(3);
        var n = 1500;
        var xy = rand([n, 2], generator: g).mul(200);
        var wh = rand([n, 2], generator: g).mul(60).round();
        var boxes = cat([xy.round(), xy.round() + wh], 1);
        // Ties: scores on a coarse grid; degenerate: zero-area, inverted, duplicated boxes; a NaN score.
        var scores = rand([n], generator: g).mul(20).round().div(20);
        boxes[0] = tensor(new float[] { 5, 5, 5, 5 });
        boxes[1] = tensor(new float[] { 30, 30, 10, 10 });
        boxes[2] = boxes[3].clone();
        boxes[4] = tensor(new float[] { 0, 0, 10, 10 });
        boxes[5] = tensor(new float[] { 0, 0, 10, 30 }); // IoU exactly 1/3 with box 4
        scores[6] = float.NaN;
        var classes = randint(0, 4, [n], generator: g);
        var kernel = Keep(() => NMS.Apply(boxes, scores, threshold), force: false);
        Assert.That(Keep(() => NMS.Apply(boxes, scores, threshold), force: true), Is.EqualTo(kernel));
        var kernelBatched = Keep(() => NMS.BatchedNMS(boxes, scores, classes, threshold), force: false);
        Assert.That(kernelBatched.Length, Is.GreaterThan(kernel.Length), "categories protect boxes from each other");
        Assert.That(Keep(() => NMS.BatchedNMS(boxes, scores, classes, threshold), force: true), Is.EqualTo(kernelBatched));
        var boxes64 = boxes.to(ScalarType.Float64);
        Assert.That(Keep(() => NMS.Apply(boxes64, scores, threshold), force: true), Is.EqualTo(Keep(() => NMS.Apply(boxes64, scores, threshold), force: false)));
        Assert.That(Keep(() => NMS.Apply(boxes.narrow(0, 0, 0), scores.narrow(0, 0, 0), threshold), force: true), Is.Empty);
    }

    [TestCase(0.5)]
    [TestCase(0.0)]
    public void Batched_nms_over_many_boxes_runs_per_category_and_keeps_exactly_what_the_kernel_keeps(double threshold)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(17);
        var n = 6000; // above the tensor-op path's per-category limit
        var xy = rand([n, 2], generator: g).mul(500);
        var boxes = cat([xy.round(), xy.round() + rand([n, 2], generator: g).mul(80).round()], 1);
        var scores = rand([n], generator: g).mul(50).round().div(50);
        scores[10] = float.NaN;
        var classes = randint(0, 80, [n], generator: g);
        var kernel = Keep(() => NMS.BatchedNMS(boxes, scores, classes, threshold), force: false);
        Assert.That(kernel.Length, Is.GreaterThan(80).And.LessThan(n));
        Assert.That(Keep(() => NMS.BatchedNMS(boxes, scores, classes, threshold), force: true), Is.EqualTo(kernel));
    }

    [Test]
    public void Pasted_masks_are_identical_on_both_paths()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(9);
        var masks = rand([12, 28, 28], generator: g);
        var corner = rand([12, 2], generator: g).mul(tensor(new float[] { 150, 100 }));
        var boxes = new Boxes(cat([corner, corner + rand([12, 2], generator: g).mul(90).add(1)], 1));
        var kernel = D2.Detection.Modeling.Postprocessing.PasteMasksInImage(masks, boxes, (120, 170));
        Tensor ops;
        using (TensorOpPath.Force())
            ops = D2.Detection.Modeling.Postprocessing.PasteMasksInImage(masks, boxes, (120, 170));
        Assert.That(kernel.sum().item<long>(), Is.GreaterThan(100));
        AssertIdentical(ops, kernel);
    }

    [Test]
    public void Mask_rcnn_inference_gives_the_same_instances_on_both_paths()
    {
        manual_seed(3);
        using var model = ModelBuilder.Build(GeneralizedRCNNTests.TinyConfig("MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0"));
        model.eval();
        using var scope = NewDisposeScope();
        var input = GeneralizedRCNNTests.SyntheticImage() with { Instances = null, Height = 192, Width = 256 };
        var kernel = model.Inference([input])[0];
        Instances ops;
        using (TensorOpPath.Force())
            ops = model.Inference([input])[0];
        Assert.That(kernel.Length, Is.GreaterThan(0));
        Assert.That(ops.Length, Is.EqualTo(kernel.Length));
        AssertIdentical(ops.Get<Tensor>("pred_classes"), kernel.Get<Tensor>("pred_classes"));
        Assert.That(ops.Get<Tensor>("scores").sub(kernel.Get<Tensor>("scores")).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-5f));
        Assert.That(ops.Get<Boxes>("pred_boxes").Tensor.sub(kernel.Get<Boxes>("pred_boxes").Tensor).abs().max().item<float>(), Is.LessThanOrEqualTo(1e-3f));
        // The two ROIAligns agree to ~1e-7, so a mask-head probability that close to 0.5 can flip a pasted pixel
        // (one of 4.9 million here); pasting itself is identical (Pasted_masks_are_identical_on_both_paths).
        var masks = ops.Get<Tensor>("pred_masks");
        Assert.That(masks.shape, Is.EqualTo(kernel.Get<Tensor>("pred_masks").shape));
        Assert.That(masks.ne(kernel.Get<Tensor>("pred_masks")).sum().item<long>(), Is.LessThanOrEqualTo(masks.numel() / 100_000));
    }

    [Test]
    public void Mask_rcnn_training_step_gives_the_same_losses_and_gradients_on_both_paths()
    {
        var (kernelLosses, kernelGrad) = TrainingStep(force: false);
        var (opsLosses, opsGrad) = TrainingStep(force: true);
        Assert.That(opsLosses.Keys, Is.EquivalentTo(kernelLosses.Keys));
        foreach (var (name, value) in kernelLosses)
            Assert.That(opsLosses[name], Is.EqualTo(value).Within(1e-5).Percent.Or.EqualTo(value).Within(1e-6), name);
        Assert.That(opsGrad.Zip(kernelGrad).Max(p => Math.Abs(p.First - p.Second)), Is.LessThanOrEqualTo(1e-4 * kernelGrad.Max(Math.Abs)));
    }

    static (Dictionary<string, double> Losses, double[] GradientNorms) TrainingStep(bool force)
    {
        manual_seed(7);
        using var model = ModelBuilder.Build(GeneralizedRCNNTests.TinyConfig("MODEL.BACKBONE.FREEZE_AT", "2"));
        model.train();
        using var scope = NewDisposeScope();
        using var forced = force ? TensorOpPath.Force() : null;
        var losses = model.ForwardTraining([GeneralizedRCNNTests.SyntheticImage(), GeneralizedRCNNTests.SyntheticImage()]);
        losses.Values.Aggregate((a, b) => a + b).backward();
        return (losses.ToDictionary(l => l.Key, l => l.Value.item<float>() * 1.0),
            [.. model.named_parameters().Where(p => p.parameter.grad is not null).Select(p => p.parameter.grad!.norm().item<float>() * 1.0)]);
    }
}
