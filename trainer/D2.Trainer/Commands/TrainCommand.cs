using System.CommandLine;
using D2.Detection.Checkpoint;
using D2.Detection.Config;
using D2.Detection.Data;
using D2.Detection.Data.Datasets;
using D2.Detection.Data.Loader;
using D2.Detection.Distributed;
using D2.Detection.Inference;
using D2.Trainer.SageMaker;
using D2.Trainer.Training;
using D2.SageMaker.Contract;

namespace D2.Trainer.Commands;

/// <summary>
/// `d2 train`: Detectron2's tools/train_net.py. Resolves the config (model-zoo name or YAML, then opts), trains on
/// DATASETS.TRAIN with checkpoints, logs and periodic evaluation on DATASETS.TEST, and writes the model artifact
/// (OUTPUT_DIR/model: weights by Detectron2 names, config.yaml, metadata.json) and the final evaluation.
/// Without --config-file, in a SageMaker training container (hyperparameters.json under SAGEMAKER_BASE_DIR or /opt/ml),
/// it runs the job described there instead (<see cref="SageMakerTrainingJob"/>). SIGTERM or Ctrl+C checkpoint and stop.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var configFile = new Option<string?>("--config-file")
        {
            Description = "A model-zoo name (Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml) or a YAML path. Omit it in a SageMaker container, where the job's hyperparameters say.",
        };
        var opts = new Option<string[]>("--opts") { Description = "Config overrides as KEY VALUE pairs, e.g. SOLVER.MAX_ITER 500.", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string?>("--output") { Description = "OUTPUT_DIR (default: the config's, ./output)." };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUTPUT_DIR/last_checkpoint when there is one." };
        var evalOnly = new Option<bool>("--eval-only") { Description = "Only evaluate MODEL.WEIGHTS (or, with --resume, the last checkpoint) on DATASETS.TEST." };
        var datasetsRoot = new Option<string?>("--datasets-root") { Description = $"Where builtin dataset names resolve (default: ${DatasetCatalog.DatasetsRootVariable}, else ./datasets)." };
        // Detectron2's launch flags (tools/train_net.py's default_argument_parser).
        var numGpus = new Option<int>("--num-gpus") { Description = "Worker processes per machine, one per GPU (on a CPU build: CPU workers).", DefaultValueFactory = _ => 1 };
        var numMachines = new Option<int>("--num-machines") { Description = "Machines in the job.", DefaultValueFactory = _ => 1 };
        var machineRank = new Option<int>("--machine-rank") { Description = "This machine's rank, 0 .. num-machines - 1 (machine 0 hosts the rendezvous).", DefaultValueFactory = _ => 0 };
        var distUrl = new Option<string>("--dist-url") { Description = "tcp://HOST:PORT of machine 0's rendezvous; 'auto' on one machine (a free loopback port).", DefaultValueFactory = _ => "auto" };
        var command = new Command("train", "Train (or evaluate) a detector with Detectron2's semantics; in a SageMaker container, run the training job.")
        {
            configFile, opts, output, resume, evalOnly, datasetsRoot, numGpus, numMachines, machineRank, distUrl,
        };
        command.SetAction(parse =>
        {
            using var stop = new StopSignal(Console.Out);
            var file = parse.GetValue(configFile);
            DistributedSettings? worker;
            try
            {
                worker = DistributedSettings.FromEnvironment();
                if (worker is null && parse.GetValue(numGpus) * parse.GetValue(numMachines) > 1)
                    return DistributedLaunch.Run(file, parse.GetValue(opts) ?? [], parse.GetValue(numGpus), parse.GetValue(numMachines),
                        parse.GetValue(machineRank), parse.GetValue(distUrl)!, stop.Token);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"d2 train: {e.Message}");
                return 2;
            }
            if (file is null)
            {
                var paths = SageMakerPaths.FromEnvironment();
                if (!paths.IsTrainingJob)
                {
                    Console.Error.WriteLine($"d2 train: --config-file is required (outside a SageMaker job: {paths.HyperparametersFile} does not exist; "
                        + $"set {SageMakerEnvironment.BaseDirectory} to run a job tree elsewhere).");
                    return 2;
                }
                return SageMakerTrainingJob.Run(paths, Console.Out, Console.Error, stop.Token, liveProgress: !Console.IsOutputRedirected);
            }
            try
            {
                return Run(file, parse.GetValue(opts) ?? [], parse.GetValue(output), parse.GetValue(resume),
                    parse.GetValue(evalOnly), parse.GetValue(datasetsRoot), stop.Token, worker);
            }
            catch (Exception e) when (worker is not null && e is CollectiveException or TimeoutException or IOException or DllNotFoundException)
            {
                // A peer died, the rendezvous failed or a backend is missing: name this rank, exit non-zero at once.
                Console.Error.WriteLine($"d2 train: rank {worker.Rank} of {worker.WorldSize}: {e.Message}");
                return PeerLoss.Caused(e) ? PeerLoss.ExitCode : 1;
            }
            catch (OperationCanceledException) when (stop.Token.IsCancellationRequested)
            {
                Console.Out.WriteLine("Stopped before training started; nothing to save.");
                return 130;
            }
            catch (Exception e) when (TrainingInputErrors.IsBadInput(e))
            {
                Console.Error.WriteLine($"d2 train: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static int Run(string configFile, string[] opts, string? output, bool resume, bool evalOnly, string? datasetsRoot, CancellationToken stop,
        DistributedSettings? worker)
    {
        string[] allOpts = output is null ? opts : [.. opts, "OUTPUT_DIR", output];
        var cfg = ModelZoo.GetConfig(configFile, allOpts);
        using var session = worker is null ? null : DistributedSession.Join(worker, cuda: cfg.Get<string>("MODEL.DEVICE").StartsWith("cuda", StringComparison.Ordinal));
        var outputDir = Path.GetFullPath(cfg.Get<string>("OUTPUT_DIR"));
        var catalog = new DatasetCatalog(datasetsRoot, Console.Error);
        var outcome = TrainingRun.Run(new TrainingRequest
        {
            Config = cfg,
            OutputDirectory = outputDir,
            CheckpointDirectory = outputDir,
            ModelDirectory = Path.Combine(outputDir, "model"),
            TrainCatalog = catalog,
            TestCatalog = catalog,
            Resume = resume,
            EvalOnly = evalOnly,
            Stop = stop,
            LiveProgress = !Console.IsOutputRedirected,
            TrainingJobName = Environment.GetEnvironmentVariable(SageMakerEnvironment.TrainingJobName),
            Group = session?.Group ?? SingleProcessGroup.Instance,
        });
        // 130: the shell's code for an interrupted command, so scripts can tell a stop from a finished run.
        return outcome == TrainingOutcome.Stopped ? 130 : 0;
    }
}
