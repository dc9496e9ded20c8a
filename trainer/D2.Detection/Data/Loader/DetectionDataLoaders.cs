using D2.Detection.Config;
using D2.Detection.Data.Datasets;
using D2.Detection.Distributed;

namespace D2.Detection.Data.Loader;

/// <summary>
/// Detectron2's <c>build_detection_train_loader</c> / <c>build_detection_test_loader</c> from a config: which records,
/// which sampler, which mapper, how many workers and images per batch.
/// </summary>
public static class DetectionDataLoaders
{
    /// <summary>
    /// The endless training loader: records without a non-crowd annotation dropped (DATALOADER.FILTER_EMPTY_ANNOTATIONS),
    /// DATALOADER.SAMPLER_TRAIN over them, a training <see cref="DatasetMapper"/>, DATALOADER.NUM_WORKERS workers,
    /// SOLVER.IMS_PER_BATCH images per batch, grouped by aspect ratio per DATALOADER.ASPECT_RATIO_GROUPING.
    /// </summary>
    /// <param name="records">the training datasets' records (Detectron2's get_detection_dataset_dicts before filtering)</param>
    /// <param name="mapper">default: <see cref="DatasetMapper.FromConfig"/>(cfg, isTrain: true)</param>
    /// <param name="log">where the filter reports how many images it removed (standard error when null)</param>
    /// <param name="seed">
    /// seeds both the sampler and the augmentations. Default: cfg.SEED for the sampler (Detectron2 passes it as is, so the
    /// default -1 gives a fixed order too) and, for the augmentations, cfg.SEED when it is &gt;= 0, else a random seed
    /// (as Detectron2's default_setup); the one used is <see cref="DataLoader.Seed"/>.
    /// </param>
    /// <param name="rank">this worker's rank in data-parallel training: it takes every <paramref name="worldSize"/>-th
    /// index of the one shared sampler stream from its own offset (Detectron2's islice(rank, None, world_size)), and
    /// SOLVER.IMS_PER_BATCH / worldSize images per batch; its augmentations are seeded with SEED + rank</param>
    /// <param name="sharedSeed">with SEED &lt; 0 and several workers, the sampler seed every rank agreed on (Detectron2's
    /// shared_random_seed); ignored otherwise</param>
    public static DataLoader BuildTrainLoader(CfgNode cfg, IReadOnlyList<DatasetRecord> records, DatasetMapper? mapper = null, long? seed = null, TextWriter? log = null,
        int rank = 0, int worldSize = 1, long? sharedSeed = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        ArgumentNullException.ThrowIfNull(records);
        var totalBatch = cfg.Get<int>("SOLVER.IMS_PER_BATCH");
        var batchSize = ImagesPerWorker(totalBatch, worldSize);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        var dataset = cfg.Get<bool>("DATALOADER.FILTER_EMPTY_ANNOTATIONS") ? DatasetFilters.FilterEmptyAnnotations(records, log) : records;
        if (dataset.Count == 0)
            throw new ArgumentException(
                records.Count == 0
                    ? "No training records: the training datasets are empty."
                    : $"No training records left: all {records.Count} images have only crowd annotations or none (DATALOADER.FILTER_EMPTY_ANNOTATIONS).",
                nameof(records));
        mapper ??= DatasetMapper.FromConfig(cfg, isTrain: true);
        var configSeed = cfg.Get<long>("SEED");
        var samplerSeed = seed ?? (configSeed < 0 && worldSize > 1 && sharedSeed is { } agreed ? agreed : configSeed);
        var augmentationSeed = (seed ?? (configSeed >= 0 ? configSeed : Random.Shared.NextInt64())) + rank;
        var samplerName = cfg.Get<string>("DATALOADER.SAMPLER_TRAIN");
        IEnumerable<int> sampler = samplerName switch
        {
            "TrainingSampler" => new TrainingSampler(dataset.Count, shuffle: true, samplerSeed),
            "RepeatFactorTrainingSampler" => new RepeatFactorTrainingSampler(
                RepeatFactorTrainingSampler.RepeatFactorsFromCategoryFrequency(dataset,
                    cfg.Get<double>("DATALOADER.REPEAT_THRESHOLD"), cfg.Get<bool>("DATALOADER.REPEAT_SQRT")),
                shuffle: true, samplerSeed),
            _ => throw new ArgumentException(
                $"DATALOADER.SAMPLER_TRAIN '{samplerName}' is not supported; use TrainingSampler or RepeatFactorTrainingSampler.", nameof(cfg)),
        };
        if (worldSize > 1)
            sampler = new RankShard(sampler, rank, worldSize);
        return new DataLoader(dataset, mapper.Map, sampler, batchSize,
            cfg.Get<bool>("DATALOADER.ASPECT_RATIO_GROUPING"), cfg.Get<int>("DATALOADER.NUM_WORKERS"), augmentationSeed);
    }

    /// <summary>SOLVER.IMS_PER_BATCH is the total over all workers (Detectron2): each takes an equal share.</summary>
    /// <exception cref="ArgumentException">the total does not divide by the number of workers (the message names both)</exception>
    public static int ImagesPerWorker(int imsPerBatch, int worldSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        if (imsPerBatch < 1)
            throw new ArgumentException($"SOLVER.IMS_PER_BATCH must be at least 1, not {imsPerBatch}.");
        if (imsPerBatch % worldSize != 0)
            throw new ArgumentException(
                $"SOLVER.IMS_PER_BATCH ({imsPerBatch}) must be divisible by the number of workers ({worldSize}): it is the total batch over all workers, as in Detectron2.");
        return imsPerBatch / worldSize;
    }

    /// <summary>The test loader: every record once, in order, batch 1, test-time mapping (INPUT.MIN_SIZE_TEST / MAX_SIZE_TEST).</summary>
    public static InferenceDataLoader BuildTestLoader(CfgNode cfg, IReadOnlyList<DatasetRecord> records, DatasetMapper? mapper = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        mapper ??= DatasetMapper.FromConfig(cfg, isTrain: false);
        return new InferenceDataLoader(records, mapper.Map);
    }
}
