namespace D2.Detection.Checkpoint;

/// <summary>Shapes printed as Detectron2's log lines print them, so reports read the same in both worlds.</summary>
internal static class ShapeText
{
    /// <summary>A Python tuple: <c>(81, 1024)</c>, <c>(81,)</c>, <c>()</c>.</summary>
    public static string Tuple(IReadOnlyList<long> shape) => shape.Count == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";

    /// <summary>torch.Size's repr: <c>torch.Size([81, 1024])</c>.</summary>
    public static string TorchSize(IReadOnlyList<long> shape) => $"torch.Size([{string.Join(", ", shape)}])";
}
