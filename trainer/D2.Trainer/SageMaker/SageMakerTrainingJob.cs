using System.Text.Json.Nodes;
using D2.Detection;
using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Data;
using D2.Detection.Data.Datasets;
using D2.Detection.Data.Loader;
using D2.Detection.Distributed;
using D2.Detection.Inference;
using D2.SageMaker.Contract;
using D2.Trainer.Training;

namespace D2.Trainer.SageMaker;

/// <summary>
/// `d2 train` inside a SageMaker training container (SageMaker runs the image with the argument `train`): reads the job
/// from the /opt/ml tree, trains with checkpoints in /opt/ml/checkpoints (resumed automatically, so a restarted spot
/// job continues), writes the artifact to /opt/ml/model and metrics.json, events, evaluation.json and config.yaml to
/// /opt/ml/output/data. Any failure ends with a reason in /opt/ml/output/failure (SageMaker's FailureReason) and a
/// non-zero exit; a SIGTERM ends with a checkpoint, the current model and exit 0.
/// </summary>
internal static class SageMakerTrainingJob
{
    public const string TrainingChannel = TrainerHyperParameters.TrainingChannel;
    public const string ValidationChannel = TrainerHyperParameters.ValidationChannel;

    /// <returns>the process exit code: 0 done or stopped, 2 bad input (ClientError), 1 anything else (AlgorithmError)</returns>
    public static int Run(SageMakerPaths paths, TextWriter log, TextWriter error, CancellationToken stop, bool liveProgress = false)
    {
        DistributedSettings? worker = null;
        try
        {
            worker = DistributedSettings.FromEnvironment();
            if (worker is null && SageMakerLaunch.Plan(paths) is { } plan)
                return SageMakerLaunch.Supervise(paths, plan, error, stop);
            // Rank 0 alone prints, as Detectron2's main process.
            var request = Prepare(paths, worker is { Rank: > 0 } ? TextWriter.Null : log, stop) with { LiveProgress = liveProgress && worker is null };
            using var session = worker is null ? null
                : DistributedSession.Join(worker, cuda: request.Config.Get<string>("MODEL.DEVICE").StartsWith("cuda", StringComparison.Ordinal));
            if (session is not null)
                request = request with { Group = session.Group };
            var outcome = TrainingRun.Run(request);
            log.WriteLine(outcome switch
            {
                TrainingOutcome.Stopped => "Training job stopped: checkpoint and model saved.",
                TrainingOutcome.Evaluated => "Evaluation job finished.",
                _ => "Training job finished.",
            });
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            log.WriteLine("Training job stopped before training started; nothing to save.");
            return 0;
        }
        catch (Exception e)
        {
            var (reason, exitCode) = Describe(e);
            var failureFile = paths.FailureFile;
            if (worker is not null)
            {
                reason = SageMakerLaunch.WorkerReason(paths, worker, reason);
                // A rank that failed because a peer went away is a symptom: its supervisor reports the cause.
                if (PeerLoss.Caused(e))
                    exitCode = PeerLoss.ExitCode;
                if (Environment.GetEnvironmentVariable(WorkerLauncher.FailureFileVariable) is { Length: > 0 } own)
                    failureFile = own;
            }
            error.WriteLine($"d2 train: {reason}");
            if (exitCode == TrainerExitCodes.AlgorithmError)
                error.WriteLine(e.ToString());
            FailureFile.Write(failureFile, reason, error);
            return exitCode;
        }
    }

    /// <summary>SageMaker's built-in algorithms' convention: ClientError for the user's input, AlgorithmError for ours.</summary>
    internal static (string Reason, int ExitCode) Describe(Exception e) =>
        TrainingInputErrors.IsBadInput(e)
            ? (FailureFile.ClientError(e.Message), TrainerExitCodes.ClientError)
            : (FailureFile.AlgorithmError($"{e.GetType().Name}: {e.Message}"), TrainerExitCodes.AlgorithmError);

    /// <summary>Reads hyperparameters, resource and channel configs and resolves the config and datasets.</summary>
    internal static TrainingRequest Prepare(SageMakerPaths paths, TextWriter log, CancellationToken stop)
    {
        var hyperparameters = Hyperparameters.Load(paths.HyperparametersFile);
        var jobName = Environment.GetEnvironmentVariable(SageMakerEnvironment.TrainingJobName);
        log.WriteLine($"SageMaker training job {jobName ?? "(unnamed)"} in {paths.BaseDirectory}");
        log.WriteLine("Hyperparameters: " + string.Join(", ", hyperparameters.Values.Select(kv => $"{kv.Key}={kv.Value}")));
        CheckResources(paths, log);
        var channels = Channels(paths);
        log.WriteLine($"Channels: {(channels.Count == 0 ? "none" : string.Join(", ", channels.Keys))}");

        var configFile = ResolveConfigFile(hyperparameters, channels, paths);
        var opts = hyperparameters.Get(TrainerHyperParameters.Opts) is { } text ? OptsParser.Parse(text) : [];
        CfgNode cfg;
        try
        {
            cfg = ConfigLoader.Load(configFile, opts, freeze: false);
        }
        catch (ConfigException e)
        {
            var which = hyperparameters.Get(TrainerHyperParameters.ConfigFile) is not null ? TrainerHyperParameters.ConfigFile : TrainerHyperParameters.LocalConfigFile;
            throw new JobInputException($"hyperparameter {which} / {TrainerHyperParameters.Opts}: {e.Message}", e);
        }
        cfg.Set("OUTPUT_DIR", paths.OutputDataDirectory);
        if (cfg.Get<string>("MODEL.WEIGHTS") is { Length: > 0 } weights)
            cfg.Set("MODEL.WEIGHTS", ResolveWeights(weights, channels, paths));
        if (hyperparameters.GetInt(TrainerHyperParameters.Seed) is { } seed)
            cfg.Set("SEED", seed);
        CheckDevice(cfg);

        // Builtin names (coco_2017_train, balloon_val) resolve under the channel, as the original project pointed
        // DETECTRON2_DATASETS at it; D2_DATASETS or DETECTRON2_DATASETS in the job's Environment (an FSx or EFS mount, say) wins.
        var datasetsRoot = Environment.GetEnvironmentVariable(DatasetCatalog.DatasetsRootVariable) is { Length: > 0 } root ? root
            : Environment.GetEnvironmentVariable(DatasetCatalog.Detectron2DatasetsRootVariable) is { Length: > 0 } d2root ? d2root : null;
        var trainRoot = datasetsRoot ?? channels.GetValueOrDefault(TrainingChannel) ?? paths.DataDirectory;
        var trainCatalog = new DatasetCatalog(trainRoot, log);
        var testCatalog = new DatasetCatalog(datasetsRoot ?? channels.GetValueOrDefault(ValidationChannel) ?? trainRoot, log);
        var evalOnly = hyperparameters.GetBool(TrainerHyperParameters.EvalOnly, false);
        var train = evalOnly ? cfg.Get<string[]>("DATASETS.TRAIN")
            : ChooseDatasets(hyperparameters.GetList(TrainerHyperParameters.TrainDatasets), cfg.Get<string[]>("DATASETS.TRAIN"), TrainingChannel, trainCatalog, channels, required: true, log);
        var test = ChooseDatasets(hyperparameters.GetList(TrainerHyperParameters.TestDatasets), cfg.Get<string[]>("DATASETS.TEST"), ValidationChannel, testCatalog, channels, required: evalOnly, log);
        var className = hyperparameters.Get(TrainerHyperParameters.ClassName) ?? "balloon";
        var labelAttribute = hyperparameters.Get(TrainerHyperParameters.LabelAttributeName);
        foreach (var (catalog, names) in new[] { (trainCatalog, train), (testCatalog, test) })
            foreach (var name in names.Where(n => channels.ContainsKey(n) && !catalog.Contains(n)))
            {
                var key = name == ValidationChannel ? TrainerHyperParameters.ValidationAnnotations : TrainerHyperParameters.TrainingAnnotations;
                var (json, images) = ChannelDataset.Locate(name, channels[name], hyperparameters.Get(key), key, log);
                log.WriteLine($"Dataset '{name}': {json} (images under {images})");
                catalog.Register(name, json, images, className, labelAttribute);
            }
        if (!evalOnly)
            cfg.Set("DATASETS.TRAIN", train);
        cfg.Set("DATASETS.TEST", test);
        cfg.Validate();
        cfg.Freeze();
        stop.ThrowIfCancellationRequested();

        return new TrainingRequest
        {
            Config = cfg,
            OutputDirectory = paths.OutputDataDirectory,
            CheckpointDirectory = paths.CheckpointDirectory,
            ModelDirectory = paths.ModelDirectory,
            TrainCatalog = trainCatalog,
            TestCatalog = testCatalog,
            // Under the checkpoint folder, which SageMaker syncs with CheckpointConfig's S3 URI: a spot restart finds the
            // model-zoo weights there instead of downloading them again. D2_CACHE / FVCORE_CACHE (e.g. baked into an image) win.
            WeightsCacheDirectory = Environment.GetEnvironmentVariable(Weights.RemoteWeights.CacheVariable) is { Length: > 0 }
                || Environment.GetEnvironmentVariable(Weights.RemoteWeights.FvcoreCacheVariable) is { Length: > 0 }
                ? null : Path.Combine(paths.CheckpointDirectory, "model_zoo_cache"),
            // Resuming by default is what makes managed spot training work: SageMaker restores /opt/ml/checkpoints.
            Resume = hyperparameters.GetBool(TrainerHyperParameters.Resume, true),
            EvalOnly = evalOnly,
            Stop = stop,
            TrainingJobName = jobName,
            GitRevision = Environment.GetEnvironmentVariable("D2_GIT_REVISION"),
            Log = log,
        };
    }

    /// <summary>The channels present (File mode folders), by name.</summary>
    private static Dictionary<string, string> Channels(SageMakerPaths paths)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (File.Exists(paths.InputDataConfigFile))
        {
            try
            {
                if (JsonNode.Parse(File.ReadAllText(paths.InputDataConfigFile)) is JsonObject config)
                {
                    foreach (var (name, settings) in config)
                    {
                        if (settings?["TrainingInputMode"]?.GetValue<string>() is "Pipe")
                            throw new JobInputException($"channel '{name}' uses Pipe input mode; this trainer reads files: use File or FastFile.");
                        names.Add(name);
                    }
                }
            }
            catch (System.Text.Json.JsonException e)
            {
                throw new JobInputException($"{paths.InputDataConfigFile}: is not valid JSON ({e.Message})", e);
            }
        }
        if (Directory.Exists(paths.DataDirectory))
            foreach (var directory in Directory.EnumerateDirectories(paths.DataDirectory))
                names.Add(Path.GetFileName(directory));
        var channels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var directory = paths.Channel(name);
            if (!Directory.Exists(directory))
                throw new JobInputException($"channel '{name}' is declared in inputdataconfig.json but {directory} does not exist.");
            channels[name] = directory;
        }
        return channels;
    }

    private static void CheckResources(SageMakerPaths paths, TextWriter log)
    {
        var cluster = SageMakerCluster.Load(paths.ResourceConfigFile);
        log.WriteLine($"Host {cluster.CurrentHost} of {cluster.NumMachines} ({cluster.InstanceType})");
    }

    /// <summary>config-file (a model-zoo name) or local-config-file (in a channel, /opt/ml/code or the image).</summary>
    private static string ResolveConfigFile(Hyperparameters hyperparameters, IReadOnlyDictionary<string, string> channels, SageMakerPaths paths)
    {
        var zoo = hyperparameters.Get(TrainerHyperParameters.ConfigFile);
        var local = hyperparameters.Get(TrainerHyperParameters.LocalConfigFile);
        if (zoo is not null && local is not null)
            throw new JobInputException($"set either {TrainerHyperParameters.ConfigFile} or {TrainerHyperParameters.LocalConfigFile}, not both.");
        if (zoo is not null)
        {
            if (!ModelZoo.ConfigNames.Contains(zoo, StringComparer.Ordinal) && !ModelZoo.ConfigNames.Contains(zoo + ".yaml", StringComparer.Ordinal))
                throw new JobInputException($"hyperparameter {TrainerHyperParameters.ConfigFile}: '{zoo}' is not a model-zoo config. "
                    + $"Model-zoo configs: {string.Join(", ", ModelZoo.ConfigNames)}. For your own YAML use {TrainerHyperParameters.LocalConfigFile}.");
            return zoo;
        }
        if (local is null)
            throw new JobInputException($"set the hyperparameter {TrainerHyperParameters.ConfigFile} (a model-zoo config) or {TrainerHyperParameters.LocalConfigFile} (a YAML in a channel or the image).");
        var candidates = new List<string>();
        if (Path.IsPathRooted(local))
            candidates.Add(paths.Rebase(local));
        else
        {
            // "training/configs/x.yaml" names a channel; "configs/x.yaml" is looked for in every channel.
            candidates.AddRange(channels.Values.Select(dir => Path.Combine(Path.GetDirectoryName(dir)!, local)));
            candidates.AddRange(channels.Values.Select(dir => Path.Combine(dir, local)));
            candidates.Add(Path.Combine(paths.CodeDirectory, local));
            candidates.Add(Path.Combine(AppContext.BaseDirectory, local));
        }
        return candidates.FirstOrDefault(File.Exists) is { } found ? Path.GetFullPath(found)
            : throw new JobInputException($"hyperparameter {TrainerHyperParameters.LocalConfigFile}: '{local}' was not found (looked in {string.Join(", ", candidates.Distinct())}).");
    }

    /// <summary>
    /// MODEL.WEIGHTS as a job gives it: an /opt/ml path, a path relative to the working directory, or one relative to the
    /// channels' folder ("model/model_final.pth" for a channel named model).
    /// </summary>
    private static string ResolveWeights(string weights, IReadOnlyDictionary<string, string> channels, SageMakerPaths paths)
    {
        if (Weights.RemoteWeights.IsRemote(weights))
            return weights;
        var rebased = paths.Rebase(weights);
        if (Path.IsPathRooted(rebased) || File.Exists(rebased))
            return rebased;
        var channel = weights.Split('/', 2)[0];
        return channels.TryGetValue(channel, out var directory) && weights.Contains('/', StringComparison.Ordinal)
            ? Path.Combine(directory, weights.Split('/', 2)[1])
            : rebased;
    }

    /// <summary>
    /// The dataset names to use: the hyperparameter's; else the config's when they all exist under the channel (builtin
    /// names such as coco_2017_train with the Detectron2 layout); else the channel itself; else none or an error.
    /// </summary>
    private static string[] ChooseDatasets(string[]? requested, string[] configured, string channel, DatasetCatalog catalog,
        IReadOnlyDictionary<string, string> channels, bool required, TextWriter log)
    {
        var kind = channel == TrainingChannel ? "DATASETS.TRAIN" : "DATASETS.TEST";
        if (requested is not null)
            return requested;
        if (configured.Length > 0 && configured.All(catalog.IsAvailable))
            return configured;
        if (channels.ContainsKey(channel))
        {
            if (configured.Length > 0)
                log.WriteLine($"{kind} ({string.Join(", ", configured)}) is not under {catalog.DatasetsRoot}: using the '{channel}' channel instead.");
            return [channel];
        }
        if (required)
            throw new JobInputException($"no {(channel == TrainingChannel ? "training" : "evaluation")} data: the job has no '{channel}' channel, and "
                + (configured.Length > 0 ? $"{kind} ({string.Join(", ", configured)}) is not under {catalog.DatasetsRoot}." : $"{kind} is empty."));
        if (configured.Length > 0)
            log.WriteLine($"{kind} ({string.Join(", ", configured)}) is not under {catalog.DatasetsRoot} and there is no '{channel}' channel: no evaluation.");
        return [];
    }

    /// <summary>A CUDA config on a host without CUDA is the job's mistake (a CPU instance, or the CPU image).</summary>
    private static void CheckDevice(CfgNode cfg)
    {
        var device = cfg.Get<string>("MODEL.DEVICE");
        try
        {
            TorchRuntime.ResolveDevice(device);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            throw new JobInputException($"MODEL.DEVICE {device}: {e.Message} On a CPU instance add MODEL.DEVICE cpu to the opts hyperparameter.", e);
        }
    }
}
