using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Checkpoint;

/// <summary>Training state read back from a checkpoint (the model itself is loaded in place).</summary>
/// <param name="Iteration">the last completed iteration; training resumes at Iteration + 1, as in Detectron2</param>
/// <param name="Optimizer">optimizer tensors by the names they were saved under (CPU; the caller's dispose scope)</param>
/// <param name="SchedulerState">the LR scheduler's state as saved (JSON), or null</param>
/// <param name="Metadata">the remaining header strings (caller-supplied metadata)</param>
/// <param name="Model">the model load's report</param>
public sealed record TrainingState(
    long Iteration,
    IReadOnlyDictionary<string, Tensor> Optimizer,
    string? SchedulerState,
    IReadOnlyDictionary<string, string> Metadata,
    CheckpointLoadReport Model);

/// <summary>
/// Resumable training checkpoints, Detectron2's <c>model_0004999.pth</c> + <c>last_checkpoint</c> in safetensors form:
/// <c>&lt;dir&gt;/&lt;name&gt;.safetensors</c> holds the model state dict under <c>model.&lt;key&gt;</c> and optimizer tensors
/// under <c>optimizer.&lt;key&gt;</c>; the header metadata holds <c>format</c>, <c>iteration</c>, the scheduler's JSON under
/// <c>scheduler</c> and caller strings. <c>&lt;dir&gt;/last_checkpoint</c> holds the latest file name. Both are written
/// atomically, the checkpoint first, so <c>last_checkpoint</c> never names an incomplete file.
/// </summary>
public static class TrainingCheckpoint
{
    public const string LastCheckpointFile = "last_checkpoint";
    public const string FormatKey = "format";
    public const string FormatValue = "d2-training-state/1";
    public const string IterationKey = "iteration";
    public const string SchedulerKey = "scheduler";
    public const string ModelPrefix = "model.";
    public const string OptimizerPrefix = "optimizer.";
    public const string Extension = ".safetensors";

    /// <summary>Detectron2's periodic name: <c>model_0004999</c> for iteration 4999.</summary>
    public static string PeriodicName(long iteration, string prefix = "model") =>
        $"{prefix}_{iteration.ToString("D7", CultureInfo.InvariantCulture)}";

    /// <summary>Writes <c>&lt;directory&gt;/&lt;name&gt;.safetensors</c>, then points <c>last_checkpoint</c> at it.</summary>
    /// <param name="name">file name without extension, e.g. <see cref="PeriodicName"/> or "model_final"</param>
    /// <param name="optimizerState">optimizer tensors by name (e.g. momentum buffers by parameter name), or null</param>
    /// <param name="iteration">the iteration just completed</param>
    /// <param name="schedulerState">the LR scheduler's state as JSON, or null</param>
    /// <param name="metadata">extra header strings; the reserved keys (format, iteration, scheduler) may not be used</param>
    /// <returns>the path written</returns>
    public static string Save(string directory, string name, nn.Module model, IReadOnlyDictionary<string, Tensor>? optimizerState,
        long iteration, string? schedulerState = null, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (string.IsNullOrEmpty(name) || name.IndexOfAny(['/', '\\']) >= 0 || name.EndsWith(Extension, StringComparison.Ordinal))
            throw new ArgumentException($"Checkpoint name '{name}' must be a plain file name without folder or extension.", nameof(name));
        ArgumentOutOfRangeException.ThrowIfNegative(iteration);

        var header = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            header[key] = key is FormatKey or IterationKey or SchedulerKey
                ? throw new ArgumentException($"Metadata key '{key}' is reserved by the training checkpoint format.", nameof(metadata))
                : value;
        header[FormatKey] = FormatValue;
        header[IterationKey] = iteration.ToString(CultureInfo.InvariantCulture);
        if (schedulerState is not null)
            header[SchedulerKey] = schedulerState;

        var tensors = model.state_dict().Select(p => new KeyValuePair<string, Tensor>(ModelPrefix + p.Key, p.Value))
            .Concat((optimizerState ?? new Dictionary<string, Tensor>()).Select(p => new KeyValuePair<string, Tensor>(OptimizerPrefix + p.Key, p.Value)));
        var fileName = name + Extension;
        var path = Path.Combine(directory, fileName);
        SafeTensors.Save(path, tensors, header);
        AtomicFile.WriteAllText(Path.Combine(directory, LastCheckpointFile), fileName);
        return path;
    }

    /// <summary>fvcore's <c>has_checkpoint</c>: whether <c>last_checkpoint</c> exists in the folder.</summary>
    public static bool HasCheckpoint(string directory) => File.Exists(Path.Combine(directory, LastCheckpointFile));

    /// <summary>fvcore's <c>get_checkpoint_file</c>: the file <c>last_checkpoint</c> names, or null when there is none.</summary>
    public static string? GetLastCheckpoint(string directory)
    {
        var tag = Path.Combine(directory, LastCheckpointFile);
        if (!File.Exists(tag))
            return null;
        var fileName = File.ReadAllText(tag).Trim();
        return fileName.Length > 0 ? Path.Combine(directory, fileName) : null;
    }

    /// <summary>Loads the model weights of a training checkpoint in place (exact names) and returns the rest.</summary>
    /// <exception cref="CheckpointFormatException">not a training checkpoint of this format, or unreadable</exception>
    public static TrainingState Load(string path, nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        var content = SafeTensors.Load(path);
        if (!content.Metadata.TryGetValue(FormatKey, out var format) || format != FormatValue)
            throw new CheckpointFormatException(path, $"not a training checkpoint: its metadata '{FormatKey}' is '{format ?? "(absent)"}', expected '{FormatValue}'.");
        if (!content.Metadata.TryGetValue(IterationKey, out var iterationText)
            || !long.TryParse(iterationText, NumberStyles.None, CultureInfo.InvariantCulture, out var iteration))
            throw new CheckpointFormatException(path, $"the metadata '{IterationKey}' is missing or not a non-negative integer.");

        var modelWeights = content.Tensors.Where(p => p.Key.StartsWith(ModelPrefix, StringComparison.Ordinal))
            .Select(p => new KeyValuePair<string, Tensor>(p.Key[ModelPrefix.Length..], p.Value));
        var report = DetectionCheckpointer.LoadStateDict(model, path, modelWeights);
        var optimizer = content.Tensors.Where(p => p.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            .ToDictionary(p => p.Key[OptimizerPrefix.Length..], p => p.Value.MoveToOuterDisposeScope(), StringComparer.Ordinal);
        var metadata = content.Metadata.Where(p => p.Key is not (FormatKey or IterationKey or SchedulerKey))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return new TrainingState(iteration, optimizer, content.Metadata.GetValueOrDefault(SchedulerKey), metadata, report);
    }
}
