using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// Non-maximum suppression with torchvision's semantics: CPU boxes go to the managed kernel, CUDA boxes stay on the
/// device (<see cref="NMSTensorOps"/>; <see cref="TensorOpPath"/> decides).
/// </summary>
public static class NMS
{
    /// <summary>
    /// Greedy NMS: visit boxes by decreasing score, keep a box unless a kept box overlaps it with IoU strictly greater
    /// than <paramref name="iouThreshold"/>. IoU is computed as torchvision does (area = (x1 - x0)(y1 - y0), negative
    /// for inverted boxes; intersection clamped at 0), so a pair with zero union has IoU NaN and never suppresses.
    /// Equal scores are visited in index order (torchvision's order for ties is unspecified: its sort is not stable).
    /// NaN scores sort first, as in torch.sort. float64 boxes are compared in float64, all others in float32.
    /// </summary>
    /// <param name="boxes">(N, 4) XYXY</param>
    /// <param name="scores">(N) floating point</param>
    /// <param name="iouThreshold">boxes with IoU above this are suppressed</param>
    /// <returns>(K) int64 indices of the kept boxes, by decreasing score, on the boxes' device</returns>
    public static Tensor Apply(Tensor boxes, Tensor scores, double iouThreshold)
    {
        Validate(boxes, scores);
        using var scope = NewDisposeScope();
        if (TensorOpPath.Use(boxes))
            return NMSTensorOps.Run(boxes.dtype == ScalarType.Float64 ? boxes : boxes.to(ScalarType.Float32), scores, null, iouThreshold)
                .MoveToOuterDisposeScope();
        var keep = NMSKernel.Run(boxes, scores, classes: null, iouThreshold);
        return tensor(keep, ScalarType.Int64).to(boxes.device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Detectron2's batched_nms: NMS independently within each value of <paramref name="idxs"/> (a box never suppresses
    /// a box of another category); boxes are compared in float32 as Detectron2 casts them.
    /// </summary>
    /// <param name="boxes">(N, 4) XYXY</param>
    /// <param name="scores">(N) floating point</param>
    /// <param name="idxs">(N) integer category of each box</param>
    /// <param name="iouThreshold">boxes with IoU above this are suppressed</param>
    /// <returns>(K) int64 indices of the kept boxes, by decreasing score (ties in index order), on the boxes' device</returns>
    public static Tensor BatchedNMS(Tensor boxes, Tensor scores, Tensor idxs, double iouThreshold)
    {
        Validate(boxes, scores);
        ArgumentNullException.ThrowIfNull(idxs);
        if (idxs.dim() != 1 || idxs.shape[0] != boxes.shape[0])
            throw new ArgumentException($"idxs must be (N) with N = {boxes.shape[0]} boxes; got shape [{string.Join(", ", idxs.shape)}].", nameof(idxs));
        if (idxs.is_floating_point() || idxs.is_complex())
            throw new ArgumentException($"idxs must hold integer categories; got {idxs.dtype}.", nameof(idxs));
        using var scope = NewDisposeScope();
        if (TensorOpPath.Use(boxes))
            return NMSTensorOps.Run(boxes.to(ScalarType.Float32), scores, idxs.to(boxes.device), iouThreshold).MoveToOuterDisposeScope();
        var classes = TensorMemory.ToArray<long>(idxs.to(ScalarType.Int64));
        var keep = NMSKernel.Run(boxes.to(ScalarType.Float32), scores, classes, iouThreshold);
        return tensor(keep, ScalarType.Int64).to(boxes.device).MoveToOuterDisposeScope();
    }

    static void Validate(Tensor boxes, Tensor scores)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(scores);
        if (boxes.dim() != 2 || boxes.shape[1] != 4)
            throw new ArgumentException($"boxes must be (N, 4) XYXY; got shape [{string.Join(", ", boxes.shape)}].", nameof(boxes));
        if (scores.dim() != 1 || scores.shape[0] != boxes.shape[0])
            throw new ArgumentException($"scores must be (N) with N = {boxes.shape[0]} boxes; got shape [{string.Join(", ", scores.shape)}].", nameof(scores));
        if (!boxes.is_floating_point() || !scores.is_floating_point())
            throw new ArgumentException($"boxes and scores must be floating point; got {boxes.dtype} and {scores.dtype}.");
    }
}
