using System.Text;

namespace D2.Detection.Checkpoint;

/// <summary>A checkpoint tensor left out because its shape differs from the model's (e.g. another NUM_CLASSES).</summary>
/// <param name="Key">the model's name for it</param>
/// <param name="CheckpointKey">the checkpoint's name when it was matched by suffix and differs from <paramref name="Key"/>; else null</param>
public sealed record ShapeMismatch(string Key, IReadOnlyList<long> CheckpointShape, IReadOnlyList<long> ModelShape, string? CheckpointKey = null)
{
    /// <summary>Detectron2's warning for this skip.</summary>
    public override string ToString() => CheckpointKey is null
        ? $"Skip loading parameter '{Key}' to the model due to incompatible shapes: {ShapeText.Tuple(CheckpointShape)} in the checkpoint but {ShapeText.Tuple(ModelShape)} in the model! You might want to double check if this is expected."
        // The name-matching heuristic (align_and_update_state_dicts) words it differently.
        : $"Shape of {CheckpointKey} in checkpoint is {ShapeText.TorchSize(CheckpointShape)}, while shape of {Key} in model is {ShapeText.TorchSize(ModelShape)}.\n"
          + $"{CheckpointKey} will not be loaded. Please double check and see if this is desired.";
}

/// <summary>
/// What a non-strict load did, as Detectron2 reports it: which model keys were loaded, which checkpoint tensors were
/// skipped for their shape, which model keys the checkpoint lacks and which checkpoint keys the model does not use.
/// </summary>
/// <param name="Path">the checkpoint file</param>
/// <param name="Loaded">model keys that received checkpoint values</param>
/// <param name="Missing">model keys left at their current values (model order)</param>
/// <param name="Unexpected">checkpoint keys the model has no use for (checkpoint order; converted names for Caffe2 files)</param>
/// <param name="Notes">informational lines: the file's author, Caffe2 renaming, heuristic matches</param>
public sealed record CheckpointLoadReport(
    string Path,
    IReadOnlyList<string> Loaded,
    IReadOnlyList<ShapeMismatch> SkippedByShape,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> Notes)
{
    /// <summary>True when every model key was loaded and every checkpoint key was used.</summary>
    public bool IsComplete => SkippedByShape.Count == 0 && Missing.Count == 0 && Unexpected.Count == 0;

    /// <summary>The log Detectron2 prints for this load (uncoloured).</summary>
    public override string ToString()
    {
        var text = new StringBuilder().Append("[Checkpointer] Loading from ").Append(Path).Append(" ...");
        foreach (var note in Notes)
            text.Append('\n').Append(note);
        foreach (var skipped in SkippedByShape)
            text.Append('\n').Append(skipped);
        if (Missing.Count > 0)
            text.Append('\n').Append(CheckpointKeyGroups.MissingMessage(Missing));
        if (Unexpected.Count > 0)
            text.Append('\n').Append(CheckpointKeyGroups.UnexpectedMessage(Unexpected));
        return text.ToString();
    }
}
