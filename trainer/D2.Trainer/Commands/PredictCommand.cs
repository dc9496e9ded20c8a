using System.CommandLine;
using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Inference;
using D2.Detection.Modeling;
using D2.Trainer.Weights;

namespace D2.Trainer.Commands;

/// <summary>`d2 predict`: a model directory (the training job's artifact, or a folder Detectron2 wrote) applied to one image,
/// as the serving container would answer it: the JSON response, optionally the PNG overlay and a dump of the intermediate
/// results.</summary>
internal static class PredictCommand
{
    /// <summary>Exit code for unusable input: a missing model directory or file, an unreadable image, a bad device.</summary>
    public const int BadInput = 2;

    public static Command Create()
    {
        // Checked in the action rather than marked Required, so that a missing path is bad input (exit 2) too.
        var model = new Option<string>("--model") { Description = "Required: model directory: config.yaml and weights (model_final.safetensors, or Detectron2's model_final.pth or a model-zoo .pkl), metadata.json optional (the contents of /opt/ml/model, or a Detectron2 output folder)." };
        var weights = new Option<string>("--weights")
        {
            Description = "Weights to load instead of the model directory's (which then needs only config.yaml): a file path, file://, "
                + "detectron2://<model-zoo path>, http(s):// or s3://bucket/key, as MODEL.WEIGHTS of d2 train takes them; URLs are downloaded once "
                + "into the cache ($D2_CACHE, else $FVCORE_CACHE, else ~/.torch/iopath_cache).",
        };
        var image = new Option<string>("--image") { Description = "Required: the image file (JPEG, PNG, BMP, GIF, WebP)." };
        var output = new Option<string>("--out") { Description = "Write the PNG overlay (masks, boxes, labels) to this file." };
        var json = new Option<string>("--json") { Description = "Write the JSON response to this file instead of standard output." };
        var confidence = new Option<double>("--confidence-threshold")
        {
            Description = "Lowest score drawn on the --out overlay (Detectron2's demo default, 0.5); the JSON keeps every instance above MODEL.ROI_HEADS.SCORE_THRESH_TEST.",
            DefaultValueFactory = _ => 0.5,
        };
        var device = new Option<string>("--device") { Description = "MODEL.DEVICE to run on (cpu, cuda, cuda:N); default: the model's config, or cpu when it asks for CUDA and there is none." };
        var dump = new Option<string?>("--dump")
        {
            Description = "Also write the intermediate results (feature statistics per level, top RPN proposals, box-head counts, instances) as JSON: to the given file, else <json>.dump.json beside --json, else <image name>.dump.json.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("predict", "Run a trained model on one image: the inference response as JSON (pred_boxes, scores, pred_classes, pred_masks_rle, image_size, class_names) and an optional PNG overlay.")
        {
            model, weights, image, output, json, device, dump, confidence,
        };
        command.SetAction(parse =>
        {
            // --dump with no value asks for the default path; without the option there is no dump.
            var dumpResult = parse.GetResult(dump);
            var dumpPath = dumpResult is null ? null : parse.GetValue(dump) ?? "";
            var threshold = parse.GetValue(confidence);
            if (threshold is < 0 or > 1)
                return Fail($"--confidence-threshold must be from 0 to 1, not {threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}.");
            return Run(parse.GetValue(model), parse.GetValue(weights), parse.GetValue(image), parse.GetValue(output), parse.GetValue(json), parse.GetValue(device),
                dumpPath, threshold);
        });
        return command;
    }

    static int Run(string? modelDirectory, string? weights, string? imagePath, string? overlayPath, string? jsonPath, string? device, string? dumpPath,
        double confidenceThreshold)
    {
        if (string.IsNullOrWhiteSpace(modelDirectory))
            return Fail("--model is required: the model directory (model_final.safetensors, config.yaml, metadata.json).");
        if (string.IsNullOrWhiteSpace(imagePath))
            return Fail("--image is required: the image file to run the model on.");
        if (!File.Exists(imagePath))
            return Fail($"{Path.GetFullPath(imagePath)}: the image file does not exist.");

        string? weightsPath = null;
        if (!string.IsNullOrWhiteSpace(weights))
        {
            try
            {
                // Progress goes to standard error: standard output may be the JSON response.
                weightsPath = new RemoteWeights(Console.Error, setting: "--weights").Resolve(weights);
            }
            catch (WeightsUnavailableException e)
            {
                return Fail(e.Message);
            }
        }

        Predictor predictor;
        try
        {
            predictor = Predictor.FromModelDirectory(modelDirectory, device,
                cpuFallbackNote: note => Console.Error.WriteLine($"d2 predict: note: {note} (--device chooses)"), weightsPath: weightsPath);
        }
        catch (Exception e) when (e is ModelArtifactException or ConfigException or ArgumentException or InvalidOperationException)
        {
            return Fail(e is ModelArtifactException ? e.Message : $"{Path.GetFullPath(modelDirectory)}: {e.Message}");
        }
        using (predictor)
        {
            // Unused checkpoint keys do not change predictions but may mean the config is not the one trained with.
            if (predictor.LoadReport is { Unexpected.Count: > 0 } report)
                Console.Error.WriteLine($"d2 predict: note: {report.Unexpected.Count} checkpoint keys are not used by the model: {string.Join(", ", report.Unexpected.Take(10))}{(report.Unexpected.Count > 10 ? ", ..." : "")}");
            SkiaSharp.SKBitmap bitmap;
            try
            {
                bitmap = predictor.DecodeImage(File.ReadAllBytes(imagePath));
            }
            catch (InvalidImageException e)
            {
                return Fail($"{Path.GetFullPath(imagePath)}: {e.Message}");
            }
            var trace = dumpPath is null ? null : new InferenceTrace();
            using (bitmap)
            using (var input = predictor.Preprocessor.Preprocess(bitmap))
            using (var instances = predictor.Predict(input, trace))
            {
                var response = InstancesJson.ToUtf8Bytes(instances, predictor.ClassNames, indented: true);
                if (jsonPath is null)
                {
                    using var stdout = Console.OpenStandardOutput();
                    stdout.Write(response);
                    stdout.Write("\n"u8);
                }
                else
                {
                    AtomicFile.Write(jsonPath, stream => stream.Write(response));
                    Console.WriteLine($"wrote {jsonPath} ({instances.Length} instances)");
                }
                if (trace is not null)
                {
                    var path = dumpPath is { Length: > 0 } ? dumpPath
                        : jsonPath is not null ? Path.ChangeExtension(jsonPath, ".dump.json")
                        : Path.GetFileNameWithoutExtension(imagePath) + ".dump.json";
                    var text = PredictionDump.ToUtf8Bytes(predictor.Config, trace, instances, predictor.ClassNames);
                    AtomicFile.Write(path, stream => stream.Write(text));
                    (jsonPath is null ? Console.Error : Console.Out).WriteLine($"wrote {path}");
                }
                if (overlayPath is not null)
                {
                    var png = Visualizer.DrawInstancesPng(bitmap, instances, predictor.ClassNames, confidenceThreshold);
                    AtomicFile.Write(overlayPath, stream => stream.Write(png));
                    // With the JSON on standard output, notes go to standard error so the output stays parseable.
                    (jsonPath is null ? Console.Error : Console.Out).WriteLine($"wrote {overlayPath}");
                }
            }
        }
        return 0;
    }

    static int Fail(string message)
    {
        Console.Error.WriteLine($"d2 predict: {message}");
        return BadInput;
    }
}
