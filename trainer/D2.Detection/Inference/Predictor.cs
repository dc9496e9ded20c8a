using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Modeling;
using D2.Detection.Structures;
using SkiaSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Inference;

/// <summary>
/// Detectron2's DefaultPredictor: a model loaded once and put in eval mode, the test-time resize of the config, and one
/// image in, Instances at the image's original size out (or a batch of images in one forward pass). Safe to call from
/// several threads: decoding and resizing run in parallel, the model runs one forward pass at a time (a lock).
/// </summary>
public sealed class Predictor : IDisposable
{
    readonly Lock _modelLock = new();
    readonly bool _ownsModel;
    bool _disposed;

    /// <summary>A predictor over a model that is already built and loaded; the model is put in eval mode.</summary>
    /// <param name="cfg">the model's config (INPUT.MIN_SIZE_TEST, MAX_SIZE_TEST and FORMAT are used)</param>
    /// <param name="preprocessor">decoder and test-time transform (default: <see cref="ImagePreprocessor.FromConfig"/>)</param>
    /// <param name="warmUp">run one blank image now, so the first request does not pay for lazy initialisation</param>
    /// <param name="ownsModel">dispose the model with the predictor</param>
    public Predictor(CfgNode cfg, GeneralizedRCNN model, ModelMetadata metadata, IImagePreprocessor? preprocessor = null,
        bool warmUp = true, bool ownsModel = false)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(metadata);
        Config = cfg;
        Model = model;
        Metadata = metadata;
        Preprocessor = preprocessor ?? ImagePreprocessor.FromConfig(cfg);
        _ownsModel = ownsModel;
        model.eval();
        if (warmUp)
            WarmUp();
    }

    /// <summary>On the CPU, an image gets the same numbers bit for bit alone (<see cref="Predict(PreprocessedImage, InferenceTrace)"/>) as in any
    /// batch (<see cref="PredictBatch"/>): set by a server that batches (<see cref="Layers.BatchInvariantConvolution"/>; it
    /// costs twice the time of the few convolutions whose single-image input has at most 20,480 values). Off by default,
    /// where a single image is convolved as Detectron2 convolves it.</summary>
    public bool BatchInvariant { get; set; }

    /// <summary>Loads the artifact in <paramref name="modelDirectory"/> (see <see cref="ModelArtifact"/>): this project's, or
    /// a folder Detectron2 wrote (its config.yaml dump and model_final.pth, or a model-zoo .pkl).</summary>
    /// <param name="device">overrides MODEL.DEVICE ("cpu", "cuda", "cuda:1"); null keeps the artifact's</param>
    /// <param name="cpuFallbackNote">when given (and <paramref name="device"/> is null), a CUDA config where CUDA is unavailable
    /// runs on the CPU instead of failing, and this receives the note saying so (<see cref="TorchRuntime.DeviceForInference"/>)</param>
    /// <param name="weightsPath">a local weight file to load instead of the folder's own</param>
    /// <exception cref="ModelArtifactException">a file is missing or the weights do not fit the config</exception>
    public static Predictor FromModelDirectory(string modelDirectory, string? device = null, IImagePreprocessor? preprocessor = null, bool warmUp = true,
        Action<string>? cpuFallbackNote = null, string? weightsPath = null)
    {
        var artifact = ModelArtifact.Read(modelDirectory, device is null ? null : ["MODEL.DEVICE", device], weightsPath);
        if (device is null && cpuFallbackNote is not null)
        {
            var fallback = TorchRuntime.DeviceForInference(artifact.Config.Get<string>("MODEL.DEVICE"), out var note);
            if (note is not null)
            {
                cpuFallbackNote(note);
                artifact = ModelArtifact.Read(modelDirectory, ["MODEL.DEVICE", fallback], weightsPath);
            }
        }
        var model = ModelBuilder.BuildOnDevice(artifact.Config);
        try
        {
            CheckpointLoadReport report;
            try
            {
                report = DetectionCheckpointer.Load(model, artifact.WeightsPath);
            }
            catch (CheckpointFormatException e)
            {
                throw new ModelArtifactException(artifact.WeightsPath, e.Message, e);
            }
            // Unlike fine-tuning, serving random weights for anything the file lacks would be silently wrong.
            if (!FitsForInference(report))
                throw new ModelArtifactException(artifact.WeightsPath, $"does not fit {ModelArtifact.ConfigFileName}:\n{report}");
            return new Predictor(artifact.Config, model, artifact.Metadata, preprocessor, warmUp, ownsModel: true) { LoadReport = report };
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether a load leaves nothing that inference reads at its initial value: every shape matched and nothing is missing
    /// but BatchNorm's num_batches_tracked, which eval mode never reads (Detectron2 freezes the stem and res2 of a BN
    /// model into FrozenBatchNorm2d, which has no such buffer).
    /// </summary>
    public static bool FitsForInference(CheckpointLoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.SkippedByShape.Count == 0 && report.Missing.All(k => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal));
    }

    /// <summary>How the weights were loaded (unused checkpoint keys are listed there); null when the model was given built.</summary>
    public CheckpointLoadReport? LoadReport { get; private init; }

    public CfgNode Config { get; }

    public GeneralizedRCNN Model { get; }

    public ModelMetadata Metadata { get; }

    /// <summary>Class names by index (metadata.json's class_names).</summary>
    public IReadOnlyList<string> ClassNames => Metadata.ClassNames;

    public IImagePreprocessor Preprocessor { get; }

    /// <summary>Decodes image bytes the way <see cref="Predict(byte[])"/> does (for drawing on the same pixels).</summary>
    /// <exception cref="InvalidImageException">not a readable image</exception>
    public SKBitmap DecodeImage(ReadOnlySpan<byte> imageBytes) => Preprocessor.Decode(imageBytes);

    /// <summary>Predictions for an encoded image (JPEG, PNG, ...).</summary>
    /// <returns>on the CPU, at the image's size: pred_boxes (Boxes), scores, pred_classes (int64), pred_masks ((N, H, W) bool, Mask R-CNN only); the caller disposes it</returns>
    /// <exception cref="InvalidImageException">not a readable image</exception>
    public Instances Predict(byte[] imageBytes)
    {
        ArgumentNullException.ThrowIfNull(imageBytes);
        using var image = DecodeImage(imageBytes);
        return Predict(image);
    }

    /// <inheritdoc cref="Predict(byte[])"/>
    public Instances Predict(SKBitmap image)
    {
        using var input = Preprocessor.Preprocess(image);
        return Predict(input);
    }

    /// <inheritdoc cref="Predict(byte[])"/>
    /// <param name="trace">collects summaries of the intermediate results (features, proposals, box-head counts)</param>
    public Instances Predict(PreprocessedImage input, InferenceTrace? trace = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Run([input], trace, CancellationToken.None, null)[0];
    }

    /// <summary>
    /// One batched forward pass over several images (Detectron2's model(list_of_inputs)), for dynamic batching. Each image
    /// gets the same Instances as <see cref="Predict(PreprocessedImage, InferenceTrace?)"/> alone when the batch shares
    /// one <see cref="PaddedShape"/>: then no image's padding changes (GroupNorm's statistics would see a bigger pad), and
    /// what is left is the float rounding of a larger matrix product (measured by the serving tests).
    /// </summary>
    /// <param name="cancellationToken">checked before waiting for the model, between the model's stages
    /// (<see cref="InferenceStage"/>: backbone, proposals, box head, mask head, post-processing) and before moving results
    /// back, so work whose caller gave up is dropped before the next stage</param>
    /// <param name="stageCompleted">called after each model stage (metrics, tests)</param>
    /// <returns>one Instances per input, in order; the caller disposes them</returns>
    /// <exception cref="OperationCanceledException">the token was cancelled (an <see cref="InferenceCancelledException"/>
    /// names the last stage that ran when it happened inside the model)</exception>
    public IReadOnlyList<Instances> PredictBatch(IReadOnlyList<PreprocessedImage> inputs, CancellationToken cancellationToken = default,
        Action<InferenceStage>? stageCompleted = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfZero(inputs.Count);
        return Run(inputs, null, cancellationToken, stageCompleted);
    }

    /// <summary>The (H, W) the model pads <paramref name="input"/> to: its resized size rounded up to the backbone's size divisibility.</summary>
    public (long Height, long Width) PaddedShape(PreprocessedImage input)
    {
        ArgumentNullException.ThrowIfNull(input);
        long height = input.Image.shape[1], width = input.Image.shape[2];
        var divisibility = Model.Backbone.SizeDivisibility;
        return divisibility <= 1 ? (height, width)
            : ((height + divisibility - 1) / divisibility * divisibility, (width + divisibility - 1) / divisibility * divisibility);
    }

    List<Instances> Run(IReadOnlyList<PreprocessedImage> inputs, InferenceTrace? trace, CancellationToken cancellationToken, Action<InferenceStage>? stageCompleted)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        using var scope = NewDisposeScope();
        List<Instances> outputs;
        lock (_modelLock)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var invariant = BatchInvariant ? Layers.BatchInvariantConvolution.Activate() : default;
            outputs = Model.Inference(inputs.Select(i => new ModelInput(i.Image, Height: i.OriginalHeight, Width: i.OriginalWidth)).ToList(), trace: trace,
                cancellationToken: cancellationToken, stageCompleted: stageCompleted);
        }
        cancellationToken.ThrowIfCancellationRequested();
        // Detectron2 leaves results on the model's device; here they come back on the CPU, where every consumer reads them.
        if (Model.Device.type != DeviceType.CPU)
            outputs = outputs.Select(o => o.To(CPU)).ToList();
        foreach (var output in outputs)
            output.MoveToOuterDisposeScope();
        return outputs;
    }

    /// <summary>Runs one blank image through the model, so that the first real one does not pay for lazy initialisation
    /// (done by the constructor; call it again from the thread that will run the model, whose libtorch/OpenMP state is per thread).</summary>
    public void WarmUp()
    {
        var shortEdge = Math.Max(Config.Get<int>("INPUT.MIN_SIZE_TEST"), 32);
        var (height, width) = ImagePreprocessor.GetOutputShape(shortEdge, shortEdge, shortEdge, Math.Max(Config.Get<int>("INPUT.MAX_SIZE_TEST"), shortEdge));
        using var scope = NewDisposeScope();
        using var blank = new PreprocessedImage(zeros(3, height, width), height, width);
        Predict(blank).Dispose();
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_ownsModel)
        {
            lock (_modelLock)
                Model.Dispose();
        }
    }
}
