using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Modeling;

namespace D2.Detection.Inference;

/// <summary>What <see cref="ModelConverter.Convert"/> wrote and how the source weights loaded.</summary>
/// <param name="WeightsSource">the checkpoint that was read</param>
/// <param name="ConfigSource">the config that describes the model</param>
/// <param name="Report">loaded, missing and unused keys of the source checkpoint</param>
public sealed record ModelConversion(ModelArtifact Artifact, string WeightsSource, string ConfigSource, CheckpointLoadReport Report);

/// <summary>
/// Turns a Detectron2 model (a folder Detectron2 wrote, or a checkpoint file with its config) into this project's
/// artifact (<see cref="ModelArtifact"/>): weights as safetensors under Detectron2's names, the resolved config.yaml and
/// metadata.json. The weights go through the model the config describes, with Detectron2's loading rules, so the
/// artifact holds exactly what the predictor would have loaded, and a checkpoint that does not fit fails here.
/// </summary>
public static class ModelConverter
{
    /// <param name="input">a model folder (config.yaml and model_final.pth / .pkl / .safetensors, optional metadata.json)
    /// or a checkpoint file (.pth, .pkl, .safetensors; its config.yaml and metadata.json are looked for beside it)</param>
    /// <param name="outputDirectory">the artifact folder to write (created; must not be the input folder)</param>
    /// <param name="configFile">the config, when not config.yaml beside the weights: a path or a model-zoo name</param>
    /// <param name="opts">config overrides (KEY VALUE pairs), e.g. MODEL.ROI_HEADS.NUM_CLASSES for a zoo config</param>
    /// <param name="classNames">names by class index; default: the input's metadata.json, else the indices</param>
    /// <exception cref="ModelArtifactException">an input is missing or unreadable, or the weights do not fit the config</exception>
    public static ModelConversion Convert(string input, string outputDirectory, string? configFile = null,
        IReadOnlyList<string>? opts = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(input);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        var inputPath = Path.GetFullPath(input);
        string folder, weights;
        if (Directory.Exists(inputPath))
            (folder, weights) = (inputPath, ModelArtifact.FindWeights(inputPath));
        else if (File.Exists(inputPath))
            (folder, weights) = (Path.GetDirectoryName(inputPath)!, inputPath);
        else
            throw new ModelArtifactException(inputPath, "neither a model folder nor a checkpoint file exists here.");
        var output = Path.GetFullPath(outputDirectory);
        if (string.Equals(output.TrimEnd(Path.DirectorySeparatorChar), folder.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
            throw new ModelArtifactException(output, "is the input folder; write the converted artifact to another folder.");

        var configPath = configFile ?? Path.Combine(folder, ModelArtifact.ConfigFileName);
        if (configFile is null && !File.Exists(configPath))
            throw new ModelArtifactException(configPath,
                "the model's config is missing; give the config Detectron2 trained with (a path or a model-zoo name such as COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml).");
        var cfg = ModelArtifact.LoadConfig(configPath, opts);
        var numClasses = cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES");
        var metadataPath = Path.Combine(folder, ModelArtifact.MetadataFileName);
        var metadata = File.Exists(metadataPath) ? ModelMetadata.Parse(File.ReadAllBytes(metadataPath), metadataPath) : null;
        var names = classNames ?? metadata?.ClassNames ?? ModelMetadata.IndexNames(numClasses);
        if (names.Count != numClasses)
            throw new ModelArtifactException(classNames is null ? metadataPath : configPath,
                $"{names.Count} class names for MODEL.ROI_HEADS.NUM_CLASSES {numClasses}.");

        // Built on the CPU whatever MODEL.DEVICE says: conversion only moves weights, and the config keeps its device.
        using var model = ModelBuilder.Build(cfg);
        CheckpointLoadReport report;
        try
        {
            report = DetectionCheckpointer.Load(model, weights);
        }
        catch (CheckpointFormatException e)
        {
            throw new ModelArtifactException(weights, e.Message, e);
        }
        catch (InvalidOperationException e)
        {
            throw new ModelArtifactException(weights, e.Message, e);
        }
        if (!Predictor.FitsForInference(report))
            throw new ModelArtifactException(weights, $"does not fit {configPath}:\n{report}");
        var artifact = ModelArtifact.Write(output, model, cfg, names, metadata?.TrainingJobName, metadata?.GitRevision, metadata?.FinalMetrics);
        return new ModelConversion(artifact, weights, configPath, report);
    }
}
