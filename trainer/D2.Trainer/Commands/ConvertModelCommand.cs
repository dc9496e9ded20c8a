using System.CommandLine;
using D2.Detection.Inference;
using D2.Trainer.Weights;

namespace D2.Trainer.Commands;

/// <summary>`d2 convert-model`: a Detectron2 model (output folder or checkpoint) to this project's model artifact.</summary>
internal static class ConvertModelCommand
{
    public const int BadInput = 2;

    public static Command Create()
    {
        var input = new Option<string>("--input")
        {
            Description = "Required: a Detectron2 output folder (config.yaml, model_final.pth; optional metadata.json) or a checkpoint file (.pth, model-zoo .pkl, "
                + ".safetensors): a path, file://, or a URL as MODEL.WEIGHTS of d2 train takes it (detectron2://<model-zoo path>, http(s)://, s3://bucket/key; "
                + "downloaded once into the cache, and then --config-file is required).",
        };
        var output = new Option<string>("--output") { Description = "Required: the artifact folder to write (model_final.safetensors, config.yaml, metadata.json)." };
        var configFile = new Option<string>("--config-file") { Description = "The model's config when there is no config.yaml beside the weights: a YAML path or a model-zoo name (COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml)." };
        var opts = new Option<string[]>("--opts") { Description = "Config overrides as KEY VALUE pairs, e.g. MODEL.ROI_HEADS.NUM_CLASSES 1.", AllowMultipleArgumentsPerToken = true };
        var classNames = new Option<string>("--class-names") { Description = "Class names by index, comma-separated (default: metadata.json beside the weights, else the indices)." };
        var command = new Command("convert-model", "Convert a Detectron2 model (its config.yaml and model_final.pth, or a model-zoo .pkl) into a model artifact for d2 predict and the serving image, reporting unused and missing weights.")
        {
            input, output, configFile, opts, classNames,
        };
        command.SetAction(parse => Run(parse.GetValue(input), parse.GetValue(output), parse.GetValue(configFile), parse.GetValue(opts), parse.GetValue(classNames)));
        return command;
    }

    static int Run(string? input, string? output, string? configFile, string[]? opts, string? classNames)
    {
        if (string.IsNullOrWhiteSpace(input))
            return Fail("--input is required: a Detectron2 output folder or a checkpoint file.");
        if (string.IsNullOrWhiteSpace(output))
            return Fail("--output is required: the folder to write the model artifact to.");
        IReadOnlyList<string>? names = classNames is null ? null : [.. classNames.Split(',').Select(n => n.Trim())];
        if (RemoteWeights.IsRemote(input))
        {
            // A downloaded checkpoint has no config.yaml or metadata.json beside it.
            if (configFile is null && !input.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
                return Fail($"--config-file is required when --input is a URL ({input}): the config the checkpoint was trained with, "
                    + "a path or a model-zoo name such as COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml.");
            try
            {
                input = new RemoteWeights(Console.Error, setting: "--input").Resolve(input);
            }
            catch (WeightsUnavailableException e)
            {
                return Fail(e.Message);
            }
        }
        ModelConversion conversion;
        try
        {
            conversion = ModelConverter.Convert(input, output, configFile, opts, names);
        }
        catch (Exception e) when (e is ModelArtifactException or D2.Detection.Config.ConfigException or ArgumentException or IOException)
        {
            return Fail(e is ModelArtifactException ? e.Message : $"{Path.GetFullPath(input)}: {e.Message}");
        }
        var report = conversion.Report;
        Console.WriteLine(report.ToString());
        Console.WriteLine($"config   {conversion.ConfigSource}");
        Console.WriteLine($"weights  {conversion.WeightsSource}: {report.Loaded.Count} tensors loaded, {report.Unexpected.Count} unused, {report.Missing.Count} missing");
        foreach (var key in report.Missing)
            Console.WriteLine($"  missing (not read in eval mode): {key}");
        foreach (var key in report.Unexpected)
            Console.WriteLine($"  unused: {key}");
        Console.WriteLine($"wrote {conversion.Artifact.Directory} ({ModelArtifact.WeightsFileName}, {ModelArtifact.ConfigFileName}, {ModelArtifact.MetadataFileName}; {conversion.Artifact.Metadata.ClassNames.Count} classes)");
        return 0;
    }

    static int Fail(string message)
    {
        Console.Error.WriteLine($"d2 convert-model: {message}");
        return BadInput;
    }
}
