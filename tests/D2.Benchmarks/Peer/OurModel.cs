using System.Diagnostics;
using System.Runtime.InteropServices;
using D2.Detection.Config;
using D2.Detection.Inference;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using SkiaSharp;
using static TorchSharp.torch;

namespace D2.Benchmarks.Peer;

/// <summary>
/// Our side of the peer benchmark: mask_rcnn_R_50_FPN_3x with random weights, set to the peer's work (SCORE_THRESH_TEST 0 so
/// both keep DETECTIONS_PER_IMAGE = 100; the config's 1000 proposals at test, 2000/1000 in training, FrozenBN with the stem
/// and res2 frozen). Inference is what Predictor.Predict does for an image (DefaultPredictor's resize, the forward pass,
/// detections and pasted masks at the original size); a training step is forward, backward and an SGD step.
/// </summary>
internal sealed class OurModel : IDisposable
{
    readonly GeneralizedRCNN _model;
    readonly optim.Optimizer _optimizer;
    readonly SKBitmap _image;

    public OurModel(byte[] rgb, int height, int width, double learningRate)
    {
        var cfg = ConfigLoader.Load("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml",
            ["MODEL.DEVICE", "cpu", "MODEL.ROI_HEADS.SCORE_THRESH_TEST", "0.0", "TEST.DETECTIONS_PER_IMAGE", "100"]);
        _model = ModelBuilder.Build(cfg);
        ZeroInitResiduals(_model);
        var trainable = _model.parameters().Where(p => p.requires_grad).ToList();
        TrainableParameters = trainable.Sum(p => p.numel());
        _optimizer = optim.SGD(trainable, learningRate, momentum: 0.9, weight_decay: 1e-4);
        _image = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var rgba = new byte[height * width * 4];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
            (rgba[j], rgba[j + 1], rgba[j + 2], rgba[j + 3]) = (rgb[i], rgb[i + 1], rgb[i + 2], 255);
        Marshal.Copy(rgba, 0, _image.GetPixels(), rgba.Length);
    }

    public long TrainableParameters { get; }

    /// <summary>
    /// Random weights with identity FrozenBN let activations grow ~1e4 through the 16 residual blocks; the RPN's deltas then
    /// blow every proposal up to the whole image and NMS leaves a handful, far less work than a trained model does. Zero
    /// scale on each block's last norm (the zero-init-residual trick; the peer does the same) keeps activations O(1), so
    /// both sides keep 1000 proposals and 100 detections. Every convolution still runs: the work is unchanged.
    /// </summary>
    static void ZeroInitResiduals(GeneralizedRCNN model)
    {
        using var noGrad = no_grad();
        var zeroed = 0;
        foreach (var (name, buffer) in model.named_buffers())
            if (name.StartsWith("backbone.bottom_up.res", StringComparison.Ordinal) && name.EndsWith(".conv3.norm.weight", StringComparison.Ordinal))
            {
                buffer.zero_();
                zeroed++;
            }
        if (zeroed != 16)
            throw new InvalidOperationException($"Expected the 16 bottleneck blocks of ResNet-50, found {zeroed} conv3 norms.");
    }

    /// <summary>One prediction at <paramref name="shortSide"/>: seconds, stage seconds, detection count.</summary>
    public (double Seconds, IReadOnlyDictionary<string, double> Stages, long Detections) Infer(int shortSide)
    {
        _model.eval();
        var preprocessor = new ImagePreprocessor(shortSide, 1333, "BGR");
        using var profile = StageProfile.Start();
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        PreprocessedImage input;
        using (StageProfile.Measure("preprocess"))
            input = preprocessor.Preprocess(_image);
        var result = _model.Inference([new ModelInput(input.Image, Height: input.OriginalHeight, Width: input.OriginalWidth)])[0];
        var seconds = clock.Elapsed.TotalSeconds;
        return (seconds, new Dictionary<string, double>(profile.Seconds), result.Length);
    }

    /// <summary>Where the detections of one prediction come from (feature ranges, proposals, the box head's funnel), for a count that differs from the peer's.</summary>
    public string Funnel(int shortSide)
    {
        _model.eval();
        using var scope = NewDisposeScope();
        using var input = new ImagePreprocessor(shortSide, 1333, "BGR").Preprocess(_image);
        var trace = new InferenceTrace(topProposals: 1);
        _model.Inference([new ModelInput(input.Image, Height: input.OriginalHeight, Width: input.OriginalWidth)], trace: trace);
        var features = string.Join(", ", trace.Features.Select(f => $"{f.Name} [{f.Min:G3}, {f.Max:G3}]"));
        var proposals = string.Join(", ", trace.Proposals.Select(p => p.Count));
        var boxHead = string.Join(", ", trace.BoxHead.Select(b => $"{b.Proposals} proposals -> {b.AboveScoreThreshold} above the score threshold -> {b.Detections} detections"));
        return $"features: {features}; proposals: {proposals}; box head: {boxHead}";
    }

    /// <summary>The training batch: <paramref name="batch"/> copies of the image resized to <paramref name="shortSide"/>, with <see cref="TrainingTargets"/>.</summary>
    public ModelInput[] TrainingBatch(int shortSide, int batch)
    {
        using var input = new ImagePreprocessor(shortSide, 1333, "BGR").Preprocess(_image);
        var (height, width) = ((int)input.Image.shape[1], (int)input.Image.shape[2]);
        var (boxes, classes, polygons) = TrainingTargets(height, width);
        return [.. Enumerable.Range(0, batch).Select(_ =>
        {
            var instances = new Instances((height, width));
            instances.Set("gt_boxes", new Boxes(tensor(boxes.SelectMany(b => b).ToArray(), [boxes.Length, 4])));
            instances.Set("gt_classes", tensor(classes));
            instances.Set("gt_masks", new PolygonMasks(polygons.Select(p => (IEnumerable<IReadOnlyList<double>>)[p])));
            return new ModelInput(input.Image.to(float32).clone().DetachFromDisposeScope(), instances);
        })];
    }

    /// <summary>Three objects (boxes, COCO class indices, one quadrilateral polygon each) in a <paramref name="height"/> x <paramref name="width"/> image.</summary>
    public static (float[][] Boxes, long[] Classes, double[][] Polygons) TrainingTargets(int height, int width)
    {
        float w = width, h = height;
        float[][] boxes = [[0.1f * w, 0.1f * h, 0.4f * w, 0.5f * h], [0.5f * w, 0.2f * h, 0.9f * w, 0.6f * h], [0.2f * w, 0.6f * h, 0.6f * w, 0.95f * h]];
        var polygons = boxes.Select(b => new double[] { b[0], (b[1] + b[3]) / 2, (b[0] + b[2]) / 2, b[1], b[2], (b[1] + b[3]) / 2, (b[0] + b[2]) / 2, b[3] }).ToArray();
        return (boxes, [0, 1, 2], polygons);
    }

    /// <summary>One training step (zero_grad, forward, backward, SGD step): seconds, stage seconds, total loss.</summary>
    public (double Seconds, IReadOnlyDictionary<string, double> Stages, double Loss) Train(IReadOnlyList<ModelInput> batch)
    {
        _model.train();
        using var profile = StageProfile.Start();
        using var scope = NewDisposeScope();
        var clock = Stopwatch.StartNew();
        _optimizer.zero_grad();
        var total = _model.ForwardTraining(batch).Values.Aggregate((a, b) => a + b);
        var forward = clock.Elapsed.TotalSeconds;
        total.backward();
        var backward = clock.Elapsed.TotalSeconds;
        _optimizer.step();
        var seconds = clock.Elapsed.TotalSeconds;
        StageProfile.Add("backward", backward - forward);
        StageProfile.Add("optimizer", seconds - backward);
        return (seconds, new Dictionary<string, double>(profile.Seconds), total.item<float>());
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
        _image.Dispose();
    }
}
