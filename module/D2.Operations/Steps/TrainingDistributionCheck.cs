using System.Globalization;
using D2.Operations.Matrix;

namespace D2.Operations.Steps;

/// <summary>
/// What the trainer cannot run, refused before CreateTrainingJob rather than minutes later inside the container: the
/// trainer starts one worker per GPU of every instance (one on a CPU instance, or the num-gpus hyperparameter), so
/// <list type="bullet">
/// <item>a multi-instance (or num-gpus) job needs an instance type of the served matrix, whose GPU count is known;</item>
/// <item>num-gpus must be a positive integer and, on a GPU instance, at most its GPU count;</item>
/// <item>SOLVER.IMS_PER_BATCH given in opts (Detectron2's total over all workers) must divide by instances × workers
/// per instance, or, with SOLVER.REFERENCE_WORLD_SIZE, by that reference (Detectron2's auto_scale_workers).</item>
/// </list>
/// A batch size left to the config file is the trainer's to check (the client does not read model-zoo configs).
/// </summary>
internal static class TrainingDistributionCheck
{
    public static void Check(TrainingProfile profile, GpuArchitectureMatrix matrix)
    {
        var source = profile.Source;
        profile.HyperParameters.TryGetValue(TrainerHyperParameters.NumGpus, out var numGpusText);
        int? numGpus = null;
        if (numGpusText is not null)
        {
            numGpus = int.TryParse(numGpusText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1
                ? n
                : throw ProfileChecks.Error(source, $"hyperParameters.{TrainerHyperParameters.NumGpus}", $"must be a positive integer (workers per instance), not '{numGpusText}'.");
        }

        int gpus;
        bool isGpu;
        try
        {
            gpus = matrix.WorkersPerInstance(profile.InstanceType);
            isGpu = matrix.ForInstanceType(profile.InstanceType, InstanceTypeUse.Training).IsGpu;
        }
        catch (ArgumentException e)
        {
            if (profile.InstanceCount == 1 && numGpus is null)
            {
                return; // one process on one instance: an explicit image may know this type
            }

            throw ProfileChecks.Error(source, "instanceType",
                $"cannot run a {profile.InstanceCount}-instance{(numGpus is null ? "" : $", {numGpus}-worker")} job: {e.Message} "
                + $"The trainer counts its workers per instance from {matrix.Source}.");
        }

        if (numGpus is { } asked && isGpu && asked > gpus)
        {
            throw ProfileChecks.Error(source, $"hyperParameters.{TrainerHyperParameters.NumGpus}",
                $"asks for {asked} workers per instance, but {profile.InstanceType} has {gpus} GPU(s).");
        }

        var perInstance = numGpus ?? gpus;
        var workers = profile.InstanceCount * perInstance;
        if (!profile.HyperParameters.TryGetValue(TrainerHyperParameters.Opts, out var opts))
        {
            return;
        }

        string? batchText, referenceText;
        try
        {
            batchText = TrainerOpts.Find(opts, "SOLVER.IMS_PER_BATCH");
            referenceText = TrainerOpts.Find(opts, "SOLVER.REFERENCE_WORLD_SIZE");
        }
        catch (FormatException e)
        {
            throw ProfileChecks.Error(source, $"hyperParameters.{TrainerHyperParameters.Opts}", e.Message);
        }

        if (batchText is null)
        {
            return;
        }

        var field = $"hyperParameters.{TrainerHyperParameters.Opts}";
        var batch = Positive(batchText, "SOLVER.IMS_PER_BATCH");
        var reference = referenceText is null ? 0 : int.TryParse(referenceText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) && r >= 0
            ? r
            : throw ProfileChecks.Error(source, field, $"SOLVER.REFERENCE_WORLD_SIZE must be a non-negative integer, not '{referenceText}'.");
        var layout = $"{profile.InstanceCount} instance(s) of {profile.InstanceType} × {perInstance} worker(s) = {workers} workers";
        if (reference > 0)
        {
            // auto_scale_workers rescales the batch to IMS_PER_BATCH / REFERENCE_WORLD_SIZE per worker.
            if (batch % reference != 0)
            {
                throw ProfileChecks.Error(source, field,
                    $"SOLVER.IMS_PER_BATCH ({batch}) must be divisible by SOLVER.REFERENCE_WORLD_SIZE ({reference}): the batch is rescaled to {layout}.");
            }
        }
        else if (batch % workers != 0)
        {
            throw ProfileChecks.Error(source, field,
                $"SOLVER.IMS_PER_BATCH ({batch}) is the total over all workers and must be divisible by their number: {layout}.");
        }

        int Positive(string text, string key) =>
            int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= 1
                ? value
                : throw ProfileChecks.Error(source, field, $"{key} must be a positive integer, not '{text}'.");
    }
}
