using System.CommandLine;
using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Inference;

namespace D2.Trainer.Commands;

/// <summary>`d2 predict`: a model directory (the training job's artifact) applied to one image, as the serving container
/// would answer it: the JSON response and optionally the PNG overlay.</summary>
internal static class PredictCommand
{
    /// <summary>Exit code for unusable input: a missing model directory or file, an unreadable image, a bad device.</summary>
    public const int BadInput = 2;

    public static Command Create()
    {
        // Checked in the action rather than marked Required, so that a missing path is bad input (exit 2) too.
        var model = new Option<string>("--model") { Description = "Required: model directory with model_final.safetensors, config.yaml and metadata.json (the contents of /opt/ml/model)." };
        var image = new Option<string>("--image") { Description = "Required: the image file (JPEG, PNG, BMP, GIF, WebP)." };
        var output = new Option<string>("--out") { Description = "Write the PNG overlay (masks, boxes, labels) to this file." };
        var json = new Option<string>("--json") { Description = "Write the JSON response to this file instead of standard output." };
        var device = new Option<string>("--device") { Description = "MODEL.DEVICE to run on (cpu, cuda, cuda:N); default: the model's config." };
        var command = new Command("predict", "Run a trained model on one image: the inference response as JSON (pred_boxes, scores, pred_classes, pred_masks_rle, image_size, class_names) and an optional PNG overlay.")
        {
            model, image, output, json, device,
        };
        command.SetAction(parse => Run(parse.GetValue(model), parse.GetValue(image), parse.GetValue(output), parse.GetValue(json), parse.GetValue(device)));
        return command;
    }

    static int Run(string? modelDirectory, string? imagePath, string? overlayPath, string? jsonPath, string? device)
    {
        if (string.IsNullOrWhiteSpace(modelDirectory))
            return Fail("--model is required: the model directory (model_final.safetensors, config.yaml, metadata.json).");
        if (string.IsNullOrWhiteSpace(imagePath))
            return Fail("--image is required: the image file to run the model on.");
        if (!File.Exists(imagePath))
            return Fail($"{Path.GetFullPath(imagePath)}: the image file does not exist.");

        Predictor predictor;
        try
        {
            predictor = Predictor.FromModelDirectory(modelDirectory, device);
        }
        catch (Exception e) when (e is ModelArtifactException or ConfigException or ArgumentException or InvalidOperationException)
        {
            return Fail(e is ModelArtifactException ? e.Message : $"{Path.GetFullPath(modelDirectory)}: {e.Message}");
        }
        using (predictor)
        {
            SkiaSharp.SKBitmap bitmap;
            try
            {
                bitmap = predictor.DecodeImage(File.ReadAllBytes(imagePath));
            }
            catch (InvalidImageException e)
            {
                return Fail($"{Path.GetFullPath(imagePath)}: {e.Message}");
            }
            using (bitmap)
            using (var instances = predictor.Predict(bitmap))
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
                if (overlayPath is not null)
                {
                    var png = Visualizer.DrawInstancesPng(bitmap, instances, predictor.ClassNames);
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
