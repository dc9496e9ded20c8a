using System.Diagnostics;
using D2.Detection;
using D2.Detection.Config;
using D2.Detection.Layers;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.DeviceChecks;

/// <summary>
/// The CUDA path on a real GPU, each result against the CPU managed kernels in the same process: ROIAlign forward and
/// backward, NMS keep sets, pasted masks, and Mask R-CNN R50-FPN inference and a training step end to end; with the
/// time of the tensor-op ROIAlign/NMS and of the model on the GPU (the CPU kernels on this machine's cores beside it).
/// TF32 is off for the comparisons (cuDNN allows it by default; Detectron2 leaves PyTorch's defaults).
/// </summary>
internal static class TorchCudaChecks
{
    static bool _dryRun;
    static int _rounds = 10;
    static int _height = 800;
    static int _width = 1067;
    static DeviceType _expected = DeviceType.CUDA;

    public static void Run(CheckReport report)
    {
        var only = Environment.GetEnvironmentVariable("D2_DEVICE_CHECKS_ONLY");
        if (only is not null)
            report.Filter = only;
        // D2_DEVICE_CHECKS_DRY_RUN=1: the same code on CPU tensors, small and once, to check this harness without a GPU.
        if (Environment.GetEnvironmentVariable("D2_DEVICE_CHECKS_DRY_RUN") == "1")
        {
            (_dryRun, _rounds, _height, _width) = (true, 1, 320, 427);
        }
        else
        {
            InitializeDeviceType(DeviceType.CUDA);
        }
        var device = _dryRun ? CPU : TorchRuntime.ResolveDevice("cuda");
        var expected = _dryRun ? DeviceType.CPU : DeviceType.CUDA;
        _expected = expected;
        report.Info("runtime", string.Join("; ", TorchRuntime.Describe().Select(p => $"{p.Key} {p.Value}")));
        if (!_dryRun)
        {
            backends.cudnn.allow_tf32 = false;
            backends.cuda.matmul.allow_tf32 = false;
        }
        // float32 sums in another order on the GPU (cuBLAS); float64 shows the algorithm is the same to 1e-13.
        report.Run("ROIAlign on CUDA == CPU kernel, forward and backward (<= 1e-4 in float32)", () => ROIAlignCheck(device, ScalarType.Float32, 1e-4));
        report.Run("ROIAlign float64 on CUDA == CPU kernel (<= 1e-10)", () => ROIAlignCheck(device, ScalarType.Float64, 1e-10));
        report.Run("NMS / batched NMS on CUDA keep exactly what the CPU kernel keeps", () => NMSCheck(device));
        report.Run("pasted masks on CUDA == CPU kernel", () => Paste(device));
        report.Run("ROIAlign speed, 512 ROIs x 256 ch, box head 7x7 (CUDA tensor ops vs CPU kernel)", () => ROIAlignSpeed(device));
        report.Run("Mask R-CNN R18-FPN-GN inference on CUDA == CPU (random weights, score threshold 0)", () => Inference(device, GroupNormConfig, compare: true));
        report.Run("Mask R-CNN R50-FPN inference on CUDA (random weights; timing)", () => Inference(device, R50Config, compare: false));
        report.Run("Mask R-CNN R18-FPN-GN training step on CUDA vs CPU (batch 2)", () => TrainingStep(device, GroupNormConfig, compare: true));
        report.Run("Mask R-CNN R50-FPN training step on CUDA (batch 2; timing)", () => TrainingStep(device, R50Config, compare: false));
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.ne(b).sum().item<long>() == 0;

    static double MaxDiff(Tensor a, Tensor b) => a.numel() == 0 ? 0 : a.cpu().to(ScalarType.Float64).sub(b.cpu().to(ScalarType.Float64)).abs().max().item<double>();

    static Tensor RandomRois(Generator g, int count, int batch, float imageWidth, float imageHeight, float maxSize)
    {
        var b = randint(0, batch, [count, 1], generator: g).to(ScalarType.Float32);
        var x0 = rand([count, 1], generator: g).mul(imageWidth * 1.2f).sub(imageWidth * 0.1f);
        var y0 = rand([count, 1], generator: g).mul(imageHeight * 1.2f).sub(imageHeight * 0.1f);
        var w = rand([count, 1], generator: g).mul(maxSize);
        var h = rand([count, 1], generator: g).mul(maxSize);
        return cat([b, x0, y0, x0 + w, y0 + h], 1);
    }

    static (Tensor Output, Tensor[] Grads) Pool(Tensor[] maps, Tensor rois, Tensor levels, double[] scales, Tensor upstream, Device device)
    {
        var inputs = maps.Select(m => m.to(device).detach().clone().requires_grad_(true)).ToArray();
        var output = ROIAlign.MultiLevelROIAlign(inputs, rois.to(device), levels.to(device), scales, (7, 5), 0, true);
        output.mul(upstream.to(device)).sum().backward();
        return (output.detach(), [.. inputs.Select(i => i.grad!)]);
    }

    static (bool, string) ROIAlignCheck(Device device, ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(11);
        Tensor[] maps = [randn([2, 16, 100, 136], generator: g).to(dtype), randn([2, 16, 50, 68], generator: g).to(dtype), randn([2, 16, 25, 34], generator: g).to(dtype)];
        double[] scales = [1.0 / 4, 1.0 / 8, 1.0 / 16];
        var rois = cat([RandomRois(g, 2000, 2, 544, 400, 300),
            tensor(new float[] { 0, 10, 10, 10, 10, 1, 50, 40, 20, 30, 0, 900, 900, 990, 990, 1, -80, -80, -40, -40 }, [4, 5])]).to(dtype);
        var levels = cat([randint(0, 3, [2000], generator: g), tensor(new long[] { 0, 1, -1, 3 })]);
        var upstream = randn([2004, 16, 7, 5], generator: g).to(dtype);
        var (cpuOut, cpuGrads) = Pool(maps, rois, levels, scales, upstream, CPU);
        var (gpuOut, gpuGrads) = Pool(maps, rois, levels, scales, upstream, device);
        var onDevice = gpuOut.device_type == _expected && gpuGrads.All(t => t.device_type == _expected);
        var forward = MaxDiff(gpuOut, cpuOut);
        var backward = gpuGrads.Zip(cpuGrads).Max(p => MaxDiff(p.First, p.Second));
        return (onDevice && forward <= tolerance && backward <= tolerance,
            $"2004 ROIs over 3 levels: forward max |diff| {forward:E2}, backward {backward:E2}; results on {gpuOut.device}");
    }

    static (bool, string) NMSCheck(Device device)
    {
        using var scope = NewDisposeScope();
        var details = new List<string>();
        var ok = true;
        foreach (var n in new[] { 1500, 20000 })
        {
            var g = new Generator((ulong)n);
            var xy = rand([n, 2], generator: g).mul(800);
            var wh = rand([n, 2], generator: g).mul(120).round();
            var boxes = cat([xy.round(), xy.round() + wh], 1);
            var scores = rand([n], generator: g).mul(20).round().div(20); // ties
            boxes[0] = tensor(new float[] { 5, 5, 5, 5 });
            boxes[1] = tensor(new float[] { 30, 30, 10, 10 });
            boxes[2] = boxes[3].clone();
            scores[6] = float.NaN;
            var classes = randint(0, 80, [n], generator: g);
            foreach (var threshold in new[] { 0.5, 0.7 })
            {
                var cpu = NMS.Apply(boxes, scores, threshold).data<long>().ToArray();
                var gpu = NMS.Apply(boxes.to(device), scores.to(device), threshold).cpu().data<long>().ToArray();
                var cpuBatched = NMS.BatchedNMS(boxes, scores, classes, threshold).data<long>().ToArray();
                var gpuBatched = NMS.BatchedNMS(boxes.to(device), scores.to(device), classes.to(device), threshold).cpu().data<long>().ToArray();
                ok &= cpu.SequenceEqual(gpu) && cpuBatched.SequenceEqual(gpuBatched);
                if (!cpu.SequenceEqual(gpu) || _dryRun)
                    details.Add(NMSDiagnosis(boxes, scores, threshold, device));
                details.Add($"n={n} iou {threshold}: kept {gpu.Length}/{cpu.Length}, batched {gpuBatched.Length}/{cpuBatched.Length}");
            }
        }
        return (ok, string.Join("; ", details) + " (CUDA/CPU, same order)");
    }

    // Where a CUDA keep set departs from the CPU kernel's: the sort order, then the overlap bitmask of the tensor-op path
    // computed on both devices from the same sorted boxes (private members, reached by reflection: a diagnosis only).
    static string NMSDiagnosis(Tensor boxes, Tensor scores, double threshold, Device device)
    {
        var cpuOrder = scores.to(ScalarType.Float64).sort(0, descending: true, stable: true).Indices;
        var gpuOrder = scores.to(device).to(ScalarType.Float64).sort(0, descending: true, stable: true).Indices.cpu();
        var orderDiffers = cpuOrder.ne(gpuOrder).sum().item<long>();
        string Head(Tensor order) => string.Join(" ", order.narrow(0, 0, 8).data<long>().ToArray().Select(i => $"{i}:{scores[i].item<float>()}"));
        var gpuFloat32 = scores.to(device).sort(0, descending: true, stable: true).Indices.cpu();
        var gpuStableByName = scores.to(device).to(ScalarType.Float64).sort(dim: 0, descending: true, stable: true).Indices.cpu();
        Console.WriteLine($"DIAG n={boxes.shape[0]} cpu order {Head(cpuOrder)} | cuda f64 {Head(gpuOrder)} | cuda f32 {Head(gpuFloat32)} ({cpuOrder.ne(gpuFloat32).sum().item<long>()} differ) | by name {cpuOrder.ne(gpuStableByName).sum().item<long>()} differ; " +
            $"tie groups in index order on cuda: {TiesInIndexOrder(scores, gpuOrder)}, on cpu: {TiesInIndexOrder(scores, cpuOrder)}");
        var type = typeof(NMS).Assembly.GetType("D2.Detection.Layers.NMSTensorOps")!;
        var overlap = type.GetMethod("OverlapBits", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        var sorted = boxes.index_select(0, cpuOrder);
        var floatLimit = (double)MathF.BitIncrement((float)threshold);
        var cpuBits = (Tensor)overlap.Invoke(null, [sorted, null, floatLimit])!;
        var gpuBits = ((Tensor)overlap.Invoke(null, [sorted.to(device), null, floatLimit])!).cpu();
        var differing = cpuBits.ne(gpuBits).nonzero();
        var text = $"DIAGNOSIS n={boxes.shape[0]} iou {threshold}: sort order differs at {orderDiffers} positions; overlap bytes differ at {differing.shape[0]}";
        if (differing.shape[0] > 0)
        {
            var row = differing[0][0].item<long>();
            var b = differing[0][1].item<long>();
            var x = (int)(cpuBits[row][b].item<byte>() ^ gpuBits[row][b].item<byte>());
            var col = b * 8 + System.Numerics.BitOperations.TrailingZeroCount(x);
            var pair = sorted.index_select(0, tensor(new[] { row, col }));
            var p = pair.data<float>().ToArray();
            double Area(int k) => ((double)p[4 * k + 2] - p[4 * k]) * ((double)p[4 * k + 3] - p[4 * k + 1]);
            var w = Math.Max(0, Math.Min(p[2], p[6]) - Math.Max(p[0], p[4]));
            var h = Math.Max(0, Math.Min(p[3], p[7]) - Math.Max(p[1], p[5]));
            var exact = w * h / (Area(0) + Area(1) - w * h);
            text += $"; first: sorted rows {row} and {col}, boxes [{string.Join(",", p.Take(4))}] [{string.Join(",", p.Skip(4))}], " +
                $"IoU exact {exact:R}, CPU bit {(cpuBits[row][b].item<byte>() >> (int)(col % 8)) & 1}, CUDA bit {(gpuBits[row][b].item<byte>() >> (int)(col % 8)) & 1}";
        }
        return text;
    }

    // Whether the order is by decreasing score (NaN first) with equal scores in increasing index order.
    static bool TiesInIndexOrder(Tensor scores, Tensor order)
    {
        var values = scores.to(ScalarType.Float64).data<double>().ToArray();
        var o = order.data<long>().ToArray();
        for (var k = 1; k < o.Length; k++)
        {
            double a = values[o[k - 1]], b = values[o[k]];
            var aNan = double.IsNaN(a);
            var bNan = double.IsNaN(b);
            if (bNan && !aNan)
                return false;
            if (aNan == bNan && (aNan || a == b) && o[k - 1] > o[k])
                return false;
            if (!aNan && !bNan && a < b)
                return false;
        }
        return true;
    }

    static (bool, string) Paste(Device device)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(9);
        var masks = rand([100, 28, 28], generator: g);
        var corner = rand([100, 2], generator: g).mul(tensor(new float[] { 1000, 700 }));
        var boxes = cat([corner, corner + rand([100, 2], generator: g).mul(300).add(1)], 1);
        var cpu = Postprocessing.PasteMasksInImage(masks, new Boxes(boxes), (800, 1067));
        var gpu = Postprocessing.PasteMasksInImage(masks.to(device), new Boxes(boxes.to(device)), (800, 1067));
        var differing = gpu.cpu().ne(cpu).sum().item<long>();
        return (differing <= cpu.numel() / 100_000 && gpu.device_type == _expected,
            $"100 masks into 800x1067: {differing} of {cpu.numel()} pixels differ (limit 1e-5 of them), {cpu.sum().item<long>()} set");
    }

    static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    static double TimeMs(Action action, int rounds, bool cudaSync)
    {
        action();
        if (cudaSync && !_dryRun)
            cuda.synchronize();
        var times = new List<double>();
        for (var i = 0; i < rounds; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            if (cudaSync && !_dryRun)
                cuda.synchronize();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }
        return Median(times);
    }

    static (bool, string) ROIAlignSpeed(Device device)
    {
        using var scope = NewDisposeScope();
        var g = new Generator(21);
        Tensor[] maps = [randn([1, 256, 200, 272], generator: g), randn([1, 256, 100, 136], generator: g), randn([1, 256, 50, 68], generator: g), randn([1, 256, 25, 34], generator: g)];
        double[] scales = [1.0 / 4, 1.0 / 8, 1.0 / 16, 1.0 / 32];
        var rois = RandomRois(g, 512, 1, 1088, 800, 400);
        var levels = randint(0, 4, [512], generator: g);
        var gpuMaps = maps.Select(m => m.to(device)).ToArray();
        var (gpuRois, gpuLevels) = (rois.to(device), levels.to(device));
        double Forward(Tensor[] m, Tensor r, Tensor l, bool sync) => TimeMs(() =>
        {
            using var inner = NewDisposeScope();
            ROIAlign.MultiLevelROIAlign(m, r, l, scales, (7, 7), 0, true);
        }, 2 * _rounds, sync);
        var gpuMs = Forward(gpuMaps, gpuRois, gpuLevels, true);
        var cpuMs = Forward(maps, rois, levels, false);
        var grads = gpuMaps.Select(m => m.detach().clone().requires_grad_(true)).ToArray();
        var gpuBackwardMs = TimeMs(() =>
        {
            using var inner = NewDisposeScope();
            ROIAlign.MultiLevelROIAlign(grads, gpuRois, gpuLevels, scales, (7, 7), 0, true).sum().backward();
        }, 2 * _rounds, true);
        return (true, $"forward p50: CUDA tensor ops {gpuMs:F2} ms vs CPU kernel {cpuMs:F2} ms ({get_num_threads()} threads); CUDA forward+backward {gpuBackwardMs:F2} ms");
    }

    // The benchmarks' synthetic image (three boxed, polygon-masked objects), compiled in from tests/D2.Benchmarks.
    static ModelInput Image(int height, int width, int seed, bool withTargets)
    {
        var input = D2.Benchmarks.SyntheticInputs.Image(height, width, seed);
        return withTargets ? input : new ModelInput(input.Image);
    }

    // Compared: the GroupNorm config, whose activations stay sane with random weights (a randomly initialised R50 with
    // frozen BatchNorm overflows to inf and predicts nothing). Timed: R50-FPN, the model users deploy.
    const string GroupNormConfig = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml";
    const string R50Config = "COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml";

    static GeneralizedRCNN Model(string config, params string[] opts)
    {
        manual_seed(1);
        return ModelBuilder.Build(ModelZoo.GetConfig(config, ["MODEL.DEVICE", "cpu", "MODEL.ROI_HEADS.NUM_CLASSES", "80", .. opts]));
    }

    static (bool, string) Inference(Device device, string config, bool compare)
    {
        using var model = Model(config, "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0");
        model.eval();
        var input = Image(_height, _width, seed: 5, withTargets: false);
        using var scope = NewDisposeScope();
        Instances cpu;
        using (no_grad())
            cpu = model.Inference([input])[0];
        var cpuMs = TimeMs(() => { using var s = NewDisposeScope(); using var ng = no_grad(); model.Inference([input]); }, Math.Min(2, _rounds), false);
        model.to(device);
        Instances gpu;
        using (no_grad())
            gpu = model.Inference([input with { Image = input.Image.to(device) }])[0];
        var gpuMs = TimeMs(() => { using var s = NewDisposeScope(); using var ng = no_grad(); model.Inference([input with { Image = input.Image.to(device) }]); }, _rounds, true);
        var gpuFromCpuImageMs = TimeMs(() => { using var s = NewDisposeScope(); using var ng = no_grad(); model.Inference([input]); }, _rounds, true);
        var stages = new List<string>();
        {
            using var s = NewDisposeScope();
            using var ng = no_grad();
            var watch = Stopwatch.StartNew();
            model.Inference([input with { Image = input.Image.to(device) }], stageCompleted: stage =>
            {
                if (!_dryRun)
                    cuda.synchronize();
                stages.Add($"{stage} {watch.Elapsed.TotalMilliseconds:F1}");
                watch.Restart();
            });
        }
        var masks = gpu.Get<Tensor>("pred_masks");
        var onDevice = masks.device_type == _expected;
        var timing = $"stages on {device} (ms): {string.Join(", ", stages)}; p50 {gpuMs:F1} ms on {device} ({gpuFromCpuImageMs:F1} ms with the image uploaded in the call) vs {cpuMs:F0} ms on CPU ({get_num_threads()} threads)";
        if (!compare)
            return (onDevice, $"{gpu.Length} instances; {timing}");
        // Random weights give near-equal scores, so a last-digit difference can reorder or swap the 100th detection:
        // each CPU detection is matched to the CUDA one of its class with the highest IoU (>= 0.99 counts).
        var iou = Boxes.PairwiseIou(cpu.Get<Boxes>("pred_boxes"), new Boxes(gpu.Get<Boxes>("pred_boxes").Tensor.cpu()));
        var sameClass = cpu.Get<Tensor>("pred_classes").unsqueeze(1).eq(gpu.Get<Tensor>("pred_classes").cpu().unsqueeze(0));
        var best = iou.mul(sameClass.to(ScalarType.Float32)).max(1);
        var matched = best.values.ge(0.99f);
        var matchedCount = matched.sum().item<long>();
        var gpuIndex = best.indexes.masked_select(matched);
        var cpuIndex = arange(cpu.Length).masked_select(matched);
        var scoreDiff = MaxDiff(gpu.Get<Tensor>("scores").cpu().index_select(0, gpuIndex), cpu.Get<Tensor>("scores").index_select(0, cpuIndex));
        var maskDiff = masks.cpu().index_select(0, gpuIndex).ne(cpu.Get<Tensor>("pred_masks").index_select(0, cpuIndex)).sum().item<long>();
        var maskPixels = Math.Max(1, matchedCount * masks.shape[1] * masks.shape[2]);
        var ok = onDevice && cpu.Length > 0 && matchedCount >= cpu.Length * 95 / 100 && scoreDiff <= 1e-4 && maskDiff <= maskPixels / 10_000;
        return (ok, $"{matchedCount} of {cpu.Length} CPU instances matched on CUDA ({gpu.Length} there; same class, IoU >= 0.99), " +
            $"max |score diff| of matched {scoreDiff:E2}, {maskDiff} of {maskPixels} matched mask pixels differ; {timing}");
    }

    static (bool, string) TrainingStep(Device device, string config, bool compare)
    {
        using var model = Model(config);
        model.train();
        var batch = new[] { Image(_height, _width, seed: 1, withTargets: true), Image(_height, _width, seed: 2, withTargets: true) };
        Dictionary<string, float> Step()
        {
            using var scope = NewDisposeScope();
            model.zero_grad();
            var losses = model.ForwardTraining(batch);
            losses.Values.Aggregate((a, b) => a + b).backward();
            return losses.ToDictionary(p => p.Key, p => p.Value.cpu().item<float>());
        }
        manual_seed(2);
        var cpu = Step();
        model.to(device);
        manual_seed(2);
        if (!_dryRun)
            cuda.manual_seed_all(2);
        var gpu = Step();
        var gradsOnDevice = model.parameters().Where(p => p.requires_grad).All(p => p.grad is null || p.grad.device_type == _expected);
        var finite = gpu.Values.All(float.IsFinite);
        var ms = TimeMs(() => Step(), Math.Min(5, _rounds), true);
        // Random R50 weights overflow (frozen BatchNorm), so only the GroupNorm model must give finite losses.
        var ok = gradsOnDevice && gpu.Keys.Order().SequenceEqual(cpu.Keys.Order()) && (finite || !compare);
        return (ok, $"losses CUDA vs CPU (sampling draws differ between the devices' generators): " +
            string.Join(", ", gpu.Keys.Order().Select(k => $"{k} {gpu[k]:F4}/{cpu[k]:F4}")) + $"; gradients on CUDA; forward+backward p50 {ms:F1} ms");
    }
}
