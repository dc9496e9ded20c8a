using System.CommandLine;
using System.Text.Json;
using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Data;
using D2.Detection.Data.Datasets;
using D2.Detection.Data.Loader;
using D2.Detection.Engine;
using D2.Detection.Evaluation;
using D2.Detection.Inference;
using D2.Detection.Modeling;

namespace D2.Trainer.Commands;

/// <summary>
/// `d2 train`: Detectron2's tools/train_net.py. Resolves the config (model-zoo name or YAML, then opts), trains on
/// DATASETS.TRAIN with checkpoints, logs and periodic evaluation on DATASETS.TEST, and writes the model artifact
/// (OUTPUT_DIR/model: weights by Detectron2 names, config.yaml, metadata.json) and the final evaluation.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var configFile = new Option<string>("--config-file") { Description = "A model-zoo name (Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml) or a YAML path.", Required = true };
        var opts = new Option<string[]>("--opts") { Description = "Config overrides as KEY VALUE pairs, e.g. SOLVER.MAX_ITER 500.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--output") { Description = "OUTPUT_DIR (default: the config's, ./output)." };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUTPUT_DIR/last_checkpoint when there is one." };
        var evalOnly = new Option<bool>("--eval-only") { Description = "Only evaluate MODEL.WEIGHTS (or, with --resume, the last checkpoint) on DATASETS.TEST." };
        var datasetsRoot = new Option<string?>("--datasets-root") { Description = $"Where builtin dataset names resolve (default: ${DatasetCatalog.DatasetsRootVariable}, else ./datasets)." };
        var command = new Command("train", "Train (or evaluate) a detector with Detectron2's semantics.") { configFile, opts, output, resume, evalOnly, datasetsRoot };
        command.SetAction(parse =>
        {
            try
            {
                return Run(parse.GetValue(configFile)!, parse.GetValue(opts) ?? [], parse.GetValue(output), parse.GetValue(resume),
                    parse.GetValue(evalOnly), parse.GetValue(datasetsRoot));
            }
            catch (Exception e) when (e is ConfigException or DatasetException or ImageDecodeException or DataMappingException
                or CheckpointFormatException or FileNotFoundException or DirectoryNotFoundException or ArgumentException)
            {
                Console.Error.WriteLine($"d2 train: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static int Run(string configFile, string[] opts, string? output, bool resume, bool evalOnly, string? datasetsRoot)
    {
        string[] allOpts = output is null ? opts : [.. opts, "OUTPUT_DIR", output];
        var cfg = ModelZoo.GetConfig(configFile, allOpts);
        var outputDir = Path.GetFullPath(cfg.Get<string>("OUTPUT_DIR"));
        Directory.CreateDirectory(outputDir);
        AtomicFile.WriteAllText(Path.Combine(outputDir, "config.yaml"), cfg.Dump());
        var log = Console.Out;
        log.WriteLine($"Full config saved to {Path.Combine(outputDir, "config.yaml")}");

        var catalog = new DatasetCatalog(datasetsRoot, Console.Error);
        var testSets = cfg.Get<string[]>("DATASETS.TEST").Select(name => (Name: name, Data: catalog.Get(name))).ToList();
        var numClasses = cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES");

        using var model = ModelBuilder.BuildOnDevice(cfg);
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Evaluate(GeneralizedRCNN m)
        {
            var results = new Dictionary<string, IReadOnlyDictionary<string, double>>();
            foreach (var (name, (records, metadata)) in testSets)
            {
                var evaluation = DatasetEvaluation.Run(m,
                    DetectionDataLoaders.BuildTestLoader(cfg, records).Select(item => (item.Record, item.Input)),
                    // OUTPUT_DIR/inference as Detectron2's build_evaluator; one folder per dataset when there are several.
                    metadata, testSets.Count == 1 ? Path.Combine(outputDir, "inference") : Path.Combine(outputDir, "inference", name), log.WriteLine);
                // One test set reports {"bbox": ...}; several report {"<name>/bbox": ...}, as Detectron2 nests them per dataset.
                foreach (var (task, metrics) in evaluation)
                    results[testSets.Count == 1 ? task : $"{name}/{task}"] = metrics;
                foreach (var (task, metrics) in evaluation)
                    log.WriteLine($"{name} {task}: " + string.Join(", ", metrics.Where(kv => !kv.Key.StartsWith("AP-", StringComparison.Ordinal)).Select(kv => $"{kv.Key} {kv.Value:F2}")));
            }
            return results;
        }

        if (evalOnly)
        {
            var weights = resume && TrainingCheckpoint.GetLastCheckpoint(outputDir) is { } last ? last : cfg.Get<string>("MODEL.WEIGHTS");
            if (string.IsNullOrEmpty(weights))
                throw new ArgumentException("--eval-only needs MODEL.WEIGHTS (or --resume with a checkpoint in OUTPUT_DIR).");
            log.WriteLine(DetectionCheckpointer.Load(model, weights).ToString());
            var evalResults = Evaluate(model);
            WriteEvaluation(outputDir, evalResults);
            return 0;
        }

        var trainNames = cfg.Get<string[]>("DATASETS.TRAIN");
        if (trainNames.Length == 0)
            throw new ArgumentException("DATASETS.TRAIN is empty: name at least one dataset.");
        var train = trainNames.Select(catalog.Get).ToList();
        var classNames = train[0].Metadata.ThingClasses;
        if (classNames.Count > numClasses)
            throw new ArgumentException($"{trainNames[0]} has {classNames.Count} classes but MODEL.ROI_HEADS.NUM_CLASSES is {numClasses}: add --opts MODEL.ROI_HEADS.NUM_CLASSES {classNames.Count}.");
        var records = train.SelectMany(t => t.Records).ToList();

        using var loader = DetectionDataLoaders.BuildTrainLoader(cfg, records, log: log);
        using var trainer = new D2.Detection.Engine.Trainer(cfg, model, loader.GetEnumerator(), testSets.Count > 0 ? Evaluate : null, log);
        if (!Console.IsOutputRedirected)
            trainer.Loop.RegisterHooks([new LiveProgress(Console.Out)]);
        trainer.ResumeOrLoad(resume);
        log.WriteLine($"Data loader seed {loader.Seed}");
        trainer.Train();

        var final = trainer.LastEvalResults;
        if (final is not null)
            WriteEvaluation(outputDir, final);
        var artifact = ModelArtifact.Write(Path.Combine(outputDir, "model"), model, cfg, classNames,
            trainingJobName: Environment.GetEnvironmentVariable("TRAINING_JOB_NAME"), finalMetrics: final);
        log.WriteLine($"Model artifact: {artifact.Directory}");
        log.WriteLine($"Metrics: {Path.Combine(outputDir, "metrics.json")}");
        return 0;
    }

    private static void WriteEvaluation(string outputDir, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> results)
    {
        var path = Path.Combine(outputDir, "evaluation.json");
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            foreach (var (task, metrics) in results)
            {
                writer.WriteStartObject(task);
                foreach (var (name, value) in metrics)
                {
                    if (double.IsFinite(value)) writer.WriteNumber(name, value); else writer.WriteNull(name);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        var bytes = stream.ToArray();
        AtomicFile.Write(path, file => file.Write(bytes));
        Console.Out.WriteLine($"Evaluation: {path}");
    }
}
