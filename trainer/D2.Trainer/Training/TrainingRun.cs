using D2.Detection.Checkpoint;
using D2.Detection.Data;
using D2.Detection.Data.Datasets;
using D2.Detection.Data.Loader;
using D2.Detection.Distributed;
using D2.Detection.Engine;
using D2.Detection.Evaluation;
using D2.Detection.Inference;
using D2.Detection.Modeling;
using D2.SageMaker.Contract;
using D2.Trainer.Weights;

namespace D2.Trainer.Training;

/// <summary>
/// Detectron2's train_net main(), shared by `d2 train` on the command line and in a SageMaker container: build the
/// model, resume or load weights, train with checkpoints and periodic evaluation, evaluate, write the model artifact.
/// </summary>
internal static class TrainingRun
{
    /// <summary>
    /// A mask head needs masks: Detectron2 would start and then fail inside the mask loss ("Cannot find field 'gt_masks'");
    /// a dataset with boxes only (a Ground Truth bounding-box manifest, say) is refused before the model is built.
    /// </summary>
    static void RefuseMasksWithoutSegmentation(D2.Detection.Config.CfgNode cfg, string[] names,
        List<(List<DatasetRecord> Records, DatasetMetadata Metadata)> datasets)
    {
        if (!cfg.Get<bool>("MODEL.MASK_ON"))
            return;
        for (var i = 0; i < names.Length; i++)
        {
            var annotations = datasets[i].Records.SelectMany(r => r.Annotations).Where(a => !a.IsCrowd).ToList();
            if (annotations.Count > 0 && annotations.All(a => a.Polygons is null && a.Mask is null))
                throw new ArgumentException($"MODEL.MASK_ON is True but the training dataset '{names[i]}' has boxes only (no segmentation"
                    + $"{(datasets[i].Metadata.JsonFile is { } file ? $" in {file}" : "")}): a mask head cannot learn from it. Train a box-only config "
                    + "(COCO-Detection/faster_rcnn_R_50_FPN_3x.yaml, Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml) or set MODEL.MASK_ON False.");
        }
    }

    public static TrainingOutcome Run(TrainingRequest request)
    {
        var cfg = request.Config;
        var group = request.Group;
        // Detectron2's main process alone writes files and console lines; the other ranks train silently.
        var main = group.Rank == 0;
        var log = main ? request.Log : TextWriter.Null;
        var stop = request.Stop;
        if (main)
        {
            Directory.CreateDirectory(request.OutputDirectory);
            Directory.CreateDirectory(request.CheckpointDirectory);
            var configPath = Path.Combine(request.OutputDirectory, "config.yaml");
            AtomicFile.WriteAllText(configPath, cfg.Dump());
            log.WriteLine($"Full config saved to {configPath}");
        }
        if (group.WorldSize > 1)
            log.WriteLine($"Rank of current process: {group.Rank}. World size: {group.WorldSize} ({group.Backend})");
        // As DefaultTrainer: config.yaml above keeps the config as written, training uses the scaled one.
        cfg = AutoScaleWorkers.Apply(cfg, group.WorldSize, log);
        var seed = RandomSeeding.SeedAllRng(cfg.Get<long>("SEED"), group.Rank);
        log.WriteLine($"Using a random seed {seed}");

        // Datasets before the model: a bad name or file fails in seconds, not after building a large network.
        var testSets = cfg.Get<string[]>("DATASETS.TEST").Select(name => (Name: name, Data: request.TestCatalog.Get(name))).ToList();
        var numClasses = cfg.Get<int>("MODEL.ROI_HEADS.NUM_CLASSES");
        List<DatasetRecord>? trainRecords = null;
        IReadOnlyList<string> classNames = [];
        if (!request.EvalOnly)
        {
            var trainNames = cfg.Get<string[]>("DATASETS.TRAIN");
            if (trainNames.Length == 0)
                throw new ArgumentException("DATASETS.TRAIN is empty: name at least one dataset.");
            var train = trainNames.Select(request.TrainCatalog.Get).ToList();
            classNames = train[0].Metadata.ThingClasses;
            if (classNames.Count > numClasses)
                throw new ArgumentException($"{trainNames[0]} has {classNames.Count} classes but MODEL.ROI_HEADS.NUM_CLASSES is {numClasses}: "
                    + $"set MODEL.ROI_HEADS.NUM_CLASSES {classNames.Count}.");
            RefuseMasksWithoutSegmentation(cfg, trainNames, train);
            trainRecords = [.. train.SelectMany(t => t.Records)];
        }
        stop.ThrowIfCancellationRequested();

        // URL weights are fetched before the model is built, so an offline job fails in seconds; a resumed run needs none.
        var configuredWeights = cfg.Get<string>("MODEL.WEIGHTS");
        var resuming = request.Resume && TrainingCheckpoint.GetLastCheckpoint(request.CheckpointDirectory) is not null;
        if (!resuming && RemoteWeights.IsRemote(configuredWeights))
            SetWeights(cfg, new RemoteWeights(log, request.WeightsCacheDirectory).Resolve(configuredWeights, stop));

        using var model = ModelBuilder.BuildOnDevice(cfg);
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> Evaluate(GeneralizedRCNN m)
        {
            var results = new Dictionary<string, IReadOnlyDictionary<string, double>>();
            foreach (var (name, (records, metadata)) in testSets)
            {
                // Detectron2's InferenceSampler: each rank its contiguous shard; rank 0 gathers and evaluates.
                var shard = InferenceSampler.Shard(records, group.Rank, group.WorldSize);
                var inputs = DetectionDataLoaders.BuildTestLoader(cfg, shard).Select(item =>
                {
                    stop.ThrowIfCancellationRequested();
                    return (item.Record, item.Input);
                });
                // OUTPUT_DIR/inference as Detectron2's build_evaluator; one folder per dataset when there are several.
                var folder = testSets.Count == 1 ? Path.Combine(request.OutputDirectory, "inference") : Path.Combine(request.OutputDirectory, "inference", name);
                var evaluation = DatasetEvaluation.Run(m, inputs, metadata, folder, log.WriteLine,
                    group.WorldSize > 1 ? new DistributedInference(group, records) : null);
                // One test set reports {"bbox": ...}; several report {"<name>/bbox": ...}, as Detectron2 nests them per dataset.
                foreach (var (task, metrics) in evaluation)
                {
                    results[testSets.Count == 1 ? task : $"{name}/{task}"] = metrics;
                    log.WriteLine(TrainerMetrics.FormatEvaluationLine(name, task, metrics));
                }
                log.Flush();
            }
            return results;
        }

        if (request.EvalOnly)
        {
            var weights = request.Resume && TrainingCheckpoint.GetLastCheckpoint(request.CheckpointDirectory) is { } last ? last : cfg.Get<string>("MODEL.WEIGHTS");
            if (string.IsNullOrEmpty(weights))
                throw new ArgumentException("eval-only needs MODEL.WEIGHTS (or resume with a checkpoint in the checkpoint folder).");
            log.WriteLine(DetectionCheckpointer.Load(model, weights).ToString());
            if (testSets.Count == 0)
                throw new ArgumentException("eval-only needs DATASETS.TEST: name at least one dataset to evaluate on.");
            var evaluated = Evaluate(model);
            if (main)
                EvaluationSummary.Write(request.OutputDirectory, evaluated, log);
            return TrainingOutcome.Evaluated;
        }

        // SEED < 0: the ranks still need one sampler order (Detectron2's shared_random_seed: rank 0's draw).
        long? sharedSeed = group.WorldSize > 1 ? ModelStateSync.BroadcastInt64(group, Random.Shared.NextInt64(int.MaxValue)) : null;
        using var loader = DetectionDataLoaders.BuildTrainLoader(cfg, trainRecords!, log: log, rank: group.Rank, worldSize: group.WorldSize, sharedSeed: sharedSeed);
        using var trainer = new D2.Detection.Engine.Trainer(cfg, model, loader.GetEnumerator(), testSets.Count > 0 ? Evaluate : null, log,
            checkpointDirectory: request.CheckpointDirectory, group: group);
        if (request.LiveProgress && main)
            trainer.Loop.RegisterHooks([new LiveProgress(Console.Out)]);
        trainer.ResumeOrLoad(request.Resume);
        // The artifact's config names the weights as the user did (the URL), not this machine's cache.
        SetWeights(cfg, configuredWeights);
        log.WriteLine($"Data loader seed {loader.Seed}");
        var outcome = trainer.Train(stop);
        if (!main)
            return outcome == TrainingRunResult.Completed ? TrainingOutcome.Completed : TrainingOutcome.Stopped;

        // Detectron2 allows more classes in the head than the dataset names; the artifact needs a name per class.
        var names = classNames.Concat(Enumerable.Range(classNames.Count, numClasses - classNames.Count).Select(i => $"class_{i}")).ToList();
        var final = outcome == TrainingRunResult.Completed ? trainer.LastEvalResults : null;
        if (final is not null)
            EvaluationSummary.Write(request.OutputDirectory, final, log);
        var artifact = ModelArtifact.Write(request.ModelDirectory, model, cfg, names, request.TrainingJobName, request.GitRevision, final);
        log.WriteLine($"Model artifact: {artifact.Directory}");
        log.WriteLine($"Metrics: {Path.Combine(request.OutputDirectory, "metrics.json")}");
        if (outcome == TrainingRunResult.Completed)
            return TrainingOutcome.Completed;
        log.WriteLine(outcome == TrainingRunResult.EvaluationStopped
            ? "Stopped during the final evaluation: the model artifact holds the final weights without metrics."
            : $"Stopped after iteration {trainer.Iter}: resume from {request.CheckpointDirectory} to continue.");
        return TrainingOutcome.Stopped;
    }

    static void SetWeights(D2.Detection.Config.CfgNode cfg, string weights)
    {
        var frozen = cfg.IsFrozen;
        cfg.Defrost();
        cfg.Set("MODEL.WEIGHTS", weights);
        if (frozen)
            cfg.Freeze();
    }
}
