using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Distributed;
using D2.Detection.Modeling;
using D2.Detection.Solver;
using TorchSharp.Modules;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's DefaultTrainer without the builders it cannot own here (the model, the data and the evaluation are
/// given): SGD and the LR schedule from SOLVER.*, gradient clipping, and the default hooks in Detectron2's order:
/// IterationTimer, LRScheduler, PeriodicCheckpointer (SOLVER.CHECKPOINT_PERIOD), EvalHook (TEST.EVAL_PERIOD, when an
/// evaluation is given) and PeriodicWriter (console line, metrics.json, TensorBoard events every 20 iterations).
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly SimpleTrainer _loop;
    private readonly EvalHook? _evalHook;

    /// <param name="cfg">the resolved config (SOLVER.*, TEST.EVAL_PERIOD, OUTPUT_DIR, MODEL.WEIGHTS)</param>
    /// <param name="data">training batches for iterations StartIter .. MAX_ITER - 1, e.g. the enumerator of
    /// <c>DetectionDataLoaders.BuildTrainLoader</c> (its batches are disposed after their step); it must not end sooner</param>
    /// <param name="evaluate">the evaluation for EvalHook (run in eval mode): results by task then metric, e.g.
    /// {"bbox": {"AP": 40.1, "AP50": 61.0}, "segm": {...}}; or null for none</param>
    /// <param name="log">progress lines (the console line, checkpoints, evaluation); silent when null</param>
    /// <param name="checkpointDirectory">where checkpoints and last_checkpoint live; default OUTPUT_DIR</param>
    /// <param name="maxMemoryMiB">peak accelerator memory for the console line's max_mem, or null</param>
    /// <param name="group">data-parallel training (default: this process alone): <paramref name="data"/> is this rank's
    /// share; only rank 0 checkpoints and writes metrics, as Detectron2's main process; <paramref name="evaluate"/> runs on
    /// every rank (return null or empty off rank 0)</param>
    public Trainer(CfgNode cfg, GeneralizedRCNN model, IEnumerator<IReadOnlyList<ModelInput>> data,
        Func<GeneralizedRCNN, IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>?>? evaluate = null,
        TextWriter? log = null, string? checkpointDirectory = null, Func<double?>? maxMemoryMiB = null, IProcessGroup? group = null)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        Config = cfg;
        Group = group ?? SingleProcessGroup.Instance;
        var main = Group.Rank == 0;
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Log = log ?? TextWriter.Null;
        OutputDirectory = cfg.Get<string>("OUTPUT_DIR");
        CheckpointDirectory = checkpointDirectory ?? OutputDirectory;
        MaxIter = cfg.Get<long>("SOLVER.MAX_ITER");
        Directory.CreateDirectory(OutputDirectory);

        Optimizer = OptimizerBuilder.BuildSgd(cfg, model);
        Scheduler = LrSchedulerBuilder.Build(cfg, Optimizer, Log);
        _loop = new SimpleTrainer(model, data, Optimizer, GradientClipper.FromConfig(cfg)) { Log = Log, Group = Group };

        // Rank 0 alone writes (checkpoints, metrics.json, events, console lines). Every rank runs the evaluation hook at
        // the same iterations: a distributed evaluation shards the test set and gathers to rank 0, which alone reports.
        _evalHook = evaluate is null ? null : new EvalHook(cfg.Get<long>("TEST.EVAL_PERIOD"), model, evaluate);
        _loop.RegisterHooks(
        [
            new IterationTimer(),
            new LRScheduler(Optimizer, Scheduler),
            main ? new PeriodicCheckpointerHook(CheckpointDirectory, cfg.Get<long>("SOLVER.CHECKPOINT_PERIOD"), model, Optimizer, Scheduler) : null,
            // After the checkpointer: a failing evaluation leaves the checkpoint to debug with.
            _evalHook,
            // Last, so that it writes what the other hooks stored.
            main ? new PeriodicWriter(
            [
                new CommonMetricPrinter(MaxIter, Log, maxMemoryMiB: maxMemoryMiB),
                new JsonWriter(Path.Combine(OutputDirectory, "metrics.json")),
                new TensorboardXWriter(OutputDirectory),
            ], period: 20) : null,
        ]);
    }

    public CfgNode Config { get; }

    /// <summary>The data-parallel group this trainer is a rank of.</summary>
    public IProcessGroup Group { get; }
    public GeneralizedRCNN Model { get; }
    public SGD Optimizer { get; }
    public WarmupLrScheduler Scheduler { get; }
    public TextWriter Log { get; }
    public string OutputDirectory { get; }
    public string CheckpointDirectory { get; }
    public long MaxIter { get; }

    /// <summary>The iteration <see cref="Train"/> starts at: 0, or the checkpoint's iteration + 1 after a resume.</summary>
    public long StartIter { get; private set; }

    /// <summary>The loop, its hooks and (once training started) its event storage.</summary>
    public SimpleTrainer Loop => _loop;

    /// <summary>The results of the latest evaluation during or after training, or null.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? LastEvalResults => _evalHook?.LastResults;

    /// <summary>
    /// Detectron2's <c>resume_or_load</c>: with <paramref name="resume"/> and a last_checkpoint in the checkpoint folder,
    /// loads the weights, momentum buffers, LR schedule, random state and iteration, to continue at iteration + 1;
    /// otherwise loads MODEL.WEIGHTS (when set) into the model alone and starts at 0.
    /// </summary>
    /// <exception cref="FileNotFoundException">last_checkpoint names a file that does not exist</exception>
    public void ResumeOrLoad(bool resume)
    {
        LoadLocal(resume);
        // DistributedDataParallel's start: rank 0's weights (loaded or initialised), optimizer and schedule state and
        // iteration everywhere.
        StartIter = TrainingStateSync.FromRank0(Group, Model, Optimizer, Scheduler, StartIter);
    }

    private void LoadLocal(bool resume)
    {
        if (resume && TrainingCheckpoint.GetLastCheckpoint(CheckpointDirectory) is { } path)
        {
            if (!File.Exists(path))
                throw new FileNotFoundException(
                    $"Cannot resume: {Path.Combine(CheckpointDirectory, TrainingCheckpoint.LastCheckpointFile)} names {Path.GetFileName(path)}, which does not exist.", path);
            Log.WriteLine($"Resuming from {path}");
            using var scope = TorchSharp.torch.NewDisposeScope();
            var state = TrainingCheckpoint.Load(path, Model);
            if (!state.Model.IsComplete)
                Log.WriteLine(state.Model.ToString());
            var optimizer = SgdState.Restore(Optimizer, Model, state.Optimizer);
            if (optimizer.Unexpected.Count > 0)
                Log.WriteLine($"WARNING: optimizer state in the checkpoint for parameters the model does not train: {string.Join(", ", optimizer.Unexpected)}");
            if (state.SchedulerState is { } scheduler)
                Scheduler.LoadStateFromJson(scheduler);
            else
                Log.WriteLine("WARNING: the checkpoint holds no LR scheduler state; the schedule restarts at iteration 0.");
            if (state.Metadata.TryGetValue(TorchRandomState.MetadataKey, out var random))
                TorchRandomState.Restore(random);
            // The checkpoint holds the iteration just finished.
            StartIter = state.Iteration + 1;
            return;
        }
        var weights = Config.Get<string>("MODEL.WEIGHTS");
        if (!string.IsNullOrEmpty(weights))
        {
            Log.WriteLine($"Loading model weights from {weights}");
            var report = DetectionCheckpointer.Load(Model, weights);
            Log.WriteLine(report.ToString());
        }
        StartIter = 0;
    }

    /// <summary>
    /// Trains from <see cref="StartIter"/> to SOLVER.MAX_ITER, then evaluates once more (when an evaluation was given).
    /// When <paramref name="stop"/> is cancelled (SIGTERM from SageMaker, a spot interruption), the current iteration
    /// finishes, its state is checkpointed as <c>model_{iter:07d}</c> with last_checkpoint pointing at it, and training
    /// ends without the final evaluation; a resumed run continues at the next iteration. An evaluation that observes the
    /// stop (by throwing <see cref="OperationCanceledException"/>) ends the same way.
    /// </summary>
    /// <exception cref="FloatingPointError">the losses diverged (the checkpoints written so far remain)</exception>
    public TrainingRunResult Train(CancellationToken stop = default)
    {
        Log.WriteLine(TorchRuntime.DeviceFacts(Model.Device));
        try
        {
            _loop.Train(StartIter, MaxIter, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Thrown by an evaluation: after the loop (the final one), model_final is already written.
            if (_loop.Iter >= MaxIter)
                return TrainingRunResult.EvaluationStopped;
            SaveStopCheckpoint();
            return TrainingRunResult.Stopped;
        }
        if (!_loop.Stopped)
            return TrainingRunResult.Completed;
        SaveStopCheckpoint();
        return TrainingRunResult.Stopped;
    }

    private void SaveStopCheckpoint()
    {
        if (_loop.Iter >= StartIter)
            _loop.Hooks.OfType<PeriodicCheckpointerHook>().SingleOrDefault()?.Save($"model_{_loop.Iter:D7}");
    }

    /// <summary>The last finished iteration (meaningful after <see cref="Train"/>).</summary>
    public long Iter => _loop.Iter;

    public void Dispose()
    {
        Optimizer.Dispose();
        foreach (var writer in _loop.Hooks.OfType<PeriodicWriter>().SelectMany(w => w.Writers))
            writer.Dispose();
    }
}
