using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Layers;

/// <summary>
/// Detectron2's <c>ROIAlign</c> layer: torchvision's roi_align with the output size, spatial scale, sampling ratio
/// and alignment fixed at construction. <c>aligned: true</c> is Detectron2's "ROIAlignV2".
/// </summary>
public sealed class ROIAlign : nn.Module<Tensor, Tensor, Tensor>
{
    /// <param name="outputSize">pooled (height, width), e.g. (7, 7) for the box head, (14, 14) for the mask head</param>
    /// <param name="spatialScale">feature-map pixels per input pixel, 1 / stride</param>
    /// <param name="samplingRatio">samples per bin along each axis; 0 = adaptive, ceil(roi size / output size)</param>
    /// <param name="aligned">shift box corners by half a pixel (ROIAlignV2); false is the legacy behaviour</param>
    public ROIAlign((int Height, int Width) outputSize, double spatialScale, int samplingRatio, bool aligned = true)
        : base(nameof(ROIAlign))
    {
        ValidateOptions(outputSize, spatialScale, samplingRatio);
        OutputSize = outputSize;
        SpatialScale = spatialScale;
        SamplingRatio = samplingRatio;
        Aligned = aligned;
    }

    public (int Height, int Width) OutputSize { get; }
    public double SpatialScale { get; }
    public int SamplingRatio { get; }
    public bool Aligned { get; }

    /// <param name="input">(N, C, H, W) feature map</param>
    /// <param name="rois">(R, 5): batch index, x0, y0, x1, y1 in input-image coordinates</param>
    /// <returns>(R, C, output height, output width)</returns>
    public override Tensor forward(Tensor input, Tensor rois) =>
        Apply(input, rois, OutputSize, SpatialScale, SamplingRatio, Aligned);

    /// <summary>
    /// torchvision's roi_align: for every ROI and bin, the average of bilinear samples on a regular grid inside the bin.
    /// Differentiable with respect to <paramref name="input"/> (the ROIs get no gradient). CPU tensors go to the managed
    /// kernel; CUDA tensors stay on the device (<see cref="ROIAlignTensorOps"/>, chosen by <see cref="TensorOpPath"/>). float32 and float64 are
    /// computed natively, other floating types in float32.
    /// </summary>
    /// <param name="input">(N, C, H, W) feature map</param>
    /// <param name="rois">(R, 5): batch index, x0, y0, x1, y1 in input-image coordinates</param>
    /// <param name="outputSize">pooled (height, width)</param>
    /// <param name="spatialScale">feature-map pixels per input pixel, 1 / stride</param>
    /// <param name="samplingRatio">samples per bin along each axis; 0 = adaptive, ceil(roi size / output size)</param>
    /// <param name="aligned">shift box corners by half a pixel (ROIAlignV2)</param>
    /// <returns>(R, C, output height, output width), same dtype and device as <paramref name="input"/></returns>
    public static Tensor Apply(Tensor input, Tensor rois, (int Height, int Width) outputSize, double spatialScale,
        int samplingRatio, bool aligned)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(rois);
        ValidateROIs(rois);
        return Pool([input], rois, levels: null, [spatialScale], outputSize, samplingRatio, aligned);
    }

    /// <summary>
    /// <see cref="Apply"/> over a feature pyramid in one pass: ROI r is pooled from <c>inputs[levels[r]]</c> with that
    /// level's scale, straight into its row of the result (what ROIPooler needs, without a scatter per level). A ROI
    /// whose level indexes no input gets a zero row, as in Detectron2's pooler (e.g. a box whose area is negative).
    /// </summary>
    /// <param name="inputs">per level, (N, C, Hl, Wl) feature maps with the same N, C, dtype and device</param>
    /// <param name="rois">(R, 5): batch index, x0, y0, x1, y1 in input-image coordinates</param>
    /// <param name="levels">(R) integer index into <paramref name="inputs"/> for each ROI</param>
    /// <param name="spatialScales">per level, feature-map pixels per input pixel</param>
    /// <param name="outputSize">pooled (height, width)</param>
    /// <param name="samplingRatio">samples per bin along each axis; 0 = adaptive</param>
    /// <param name="aligned">shift box corners by half a pixel (ROIAlignV2)</param>
    /// <returns>(R, C, output height, output width), rows in ROI order</returns>
    public static Tensor MultiLevelROIAlign(IReadOnlyList<Tensor> inputs, Tensor rois, Tensor levels,
        IReadOnlyList<double> spatialScales, (int Height, int Width) outputSize, int samplingRatio, bool aligned)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(rois);
        ArgumentNullException.ThrowIfNull(levels);
        ArgumentNullException.ThrowIfNull(spatialScales);
        ValidateROIs(rois);
        if (inputs.Count == 0 || spatialScales.Count != inputs.Count)
            throw new ArgumentException($"Need one spatial scale per feature map; got {inputs.Count} maps and {spatialScales.Count} scales.", nameof(spatialScales));
        if (levels.dim() != 1 || levels.shape[0] != rois.shape[0] || levels.is_floating_point())
            throw new ArgumentException($"levels must be (R) integers with R = {rois.shape[0]} ROIs; got {levels.dtype} [{string.Join(", ", levels.shape)}].", nameof(levels));
        return Pool(inputs, rois, levels, spatialScales, outputSize, samplingRatio, aligned);
    }

    /// <param name="levels">(R) level per ROI, or null for all on the only level</param>
    static Tensor Pool(IReadOnlyList<Tensor> inputs, Tensor rois, Tensor? levels, IReadOnlyList<double> spatialScales,
        (int Height, int Width) outputSize, int samplingRatio, bool aligned)
    {
        foreach (var scale in spatialScales)
            ValidateOptions(outputSize, scale, samplingRatio);
        var first = inputs[0];
        for (var i = 0; i < inputs.Count; i++)
        {
            var input = inputs[i];
            if (input.dim() != 4)
                throw new ArgumentException($"Feature map {i} must be (N, C, H, W); got shape [{string.Join(", ", input.shape)}].", nameof(inputs));
            if (!input.is_floating_point())
                throw new ArgumentException($"Feature map {i} must be a floating-point tensor; got {input.dtype}.", nameof(inputs));
            if (input.shape[0] != first.shape[0] || input.shape[1] != first.shape[1] || input.dtype != first.dtype
                || input.device_type != first.device_type || input.device_index != first.device_index)
                throw new ArgumentException("All feature maps must share batch size, channel count, dtype and device.", nameof(inputs));
        }

        var options = new ROIAlignOptions(outputSize.Height, outputSize.Width, [.. spatialScales], samplingRatio, aligned);
        using var scope = NewDisposeScope();
        // Half precision is computed in float32 on both paths (sample coordinates need it); the casts carry the gradient.
        var computeType = first.dtype is ScalarType.Float32 or ScalarType.Float64 ? first.dtype : ScalarType.Float32;
        var maps = inputs.Select(i => i.to(computeType)).ToArray();
        var boxes = rois.detach().to(computeType);
        // The one place that picks the implementation: CUDA (or forced) tensors stay on the device.
        var pooled = TensorOpPath.Use(first)
            ? ROIAlignTensorOps.Pool(maps, boxes, levels, options)
            : ROIAlignFunction.apply([options, HostLevels(levels, rois.shape[0], inputs.Count), boxes, .. maps]);
        return pooled.to(first.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>The managed kernel's per-ROI level, -1 where the level indexes no input (a zero row).</summary>
    static int[] HostLevels(Tensor? levels, long roiCount, int levelCount) =>
        levels is null
            ? new int[roiCount]
            : [.. TensorMemory.ToArray<long>(levels.to(ScalarType.Int64)).Select(l => l >= 0 && l < levelCount ? (int)l : -1)];

    static void ValidateROIs(Tensor rois)
    {
        if (rois.dim() != 2 || rois.shape[1] != 5)
            throw new ArgumentException($"rois must be (R, 5) rows of (batch index, x0, y0, x1, y1); got shape [{string.Join(", ", rois.shape)}].", nameof(rois));
    }

    static void ValidateOptions((int Height, int Width) outputSize, double spatialScale, int samplingRatio)
    {
        if (outputSize.Height <= 0 || outputSize.Width <= 0)
            throw new ArgumentOutOfRangeException(nameof(outputSize), outputSize, "ROIAlign output size must be positive in both dimensions.");
        if (!(spatialScale > 0) || double.IsInfinity(spatialScale))
            throw new ArgumentOutOfRangeException(nameof(spatialScale), spatialScale, "ROIAlign spatial scale must be a positive finite number (1 / stride).");
        if (samplingRatio < 0)
            throw new ArgumentOutOfRangeException(nameof(samplingRatio), samplingRatio, "ROIAlign sampling ratio must be 0 (adaptive) or positive.");
    }
}

/// <summary>The fixed arguments of one roi_align call, as the autograd function carries them to backward.</summary>
internal sealed record ROIAlignOptions(int OutputHeight, int OutputWidth, double[] SpatialScales, int SamplingRatio, bool Aligned);
