using TorchSharp;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>
/// ROIAlign built from torch's grid_sample, the formulation available without a custom kernel: a fixed
/// <c>samplingRatio</c> x <c>samplingRatio</c> grid of bilinear samples per bin, averaged. Border padding plus a mask
/// that zeroes samples outside [-1, H] x [-1, W] reproduces torchvision's edge rules exactly, so for a fixed
/// sampling ratio it computes the same op as <see cref="D2.Detection.Layers.ROIAlign"/>; autograd comes from grid_sample.
/// </summary>
public static class GridSampleROIAlign
{
    /// <param name="input">(N, C, H, W)</param>
    /// <param name="rois">(R, 5): batch index, x0, y0, x1, y1</param>
    /// <returns>(R, C, outputSize, outputSize)</returns>
    public static Tensor Apply(Tensor input, Tensor rois, int outputSize, double spatialScale, int samplingRatio, bool aligned)
    {
        using var scope = NewDisposeScope();
        long channels = input.shape[1], height = input.shape[2], width = input.shape[3];
        var roiCount = rois.shape[0];
        var output = zeros([roiCount, channels, outputSize, outputSize], input.dtype, input.device);
        var batchIndex = rois.select(1, 0).to(ScalarType.Int64);
        for (var n = 0; n < input.shape[0]; n++)
        {
            var indices = (batchIndex == n).nonzero().squeeze(1);
            if (indices.numel() == 0)
                continue;
            var boxes = rois.index_select(0, indices);
            var (x, validX) = SampleCoordinates(boxes.select(1, 1), boxes.select(1, 3), width, outputSize, spatialScale, samplingRatio, aligned);
            var (y, validY) = SampleCoordinates(boxes.select(1, 2), boxes.select(1, 4), height, outputSize, spatialScale, samplingRatio, aligned);
            var samples = outputSize * samplingRatio;
            var count = boxes.shape[0];
            // grid_sample (align_corners = false) puts pixel i's centre at (2i + 1) / size - 1; border padding clamps
            // to the edge pixels as torchvision's clamping does.
            var gx = ((2 * x + 1) / width - 1).unsqueeze(1).expand(count, samples, samples);
            var gy = ((2 * y + 1) / height - 1).unsqueeze(2).expand(count, samples, samples);
            var grid = stack([gx, gy], -1).reshape(1, count * samples, samples, 2);
            var sampled = nn.functional.grid_sample(input[n].unsqueeze(0), grid, GridSampleMode.Bilinear,
                GridSamplePaddingMode.Border, align_corners: false);
            var mask = (validY.unsqueeze(2) & validX.unsqueeze(1)).to(input.dtype).reshape(1, 1, count * samples, samples);
            var pooled = (sampled * mask).reshape(channels, count, outputSize, samplingRatio, outputSize, samplingRatio)
                .mean([3, 5]).permute(1, 0, 2, 3);
            output.index_put_(pooled, indices);
        }
        return output.MoveToOuterDisposeScope();
    }

    /// <returns>(R, out * ratio) sample coordinates on the feature map along one axis, and which lie inside [-1, size]</returns>
    static (Tensor Coordinates, Tensor Valid) SampleCoordinates(Tensor start, Tensor end, long size, int outputSize,
        double spatialScale, int samplingRatio, bool aligned)
    {
        var offset = aligned ? 0.5 : 0.0;
        var first = start * spatialScale - offset;
        var length = end * spatialScale - offset - first;
        if (!aligned)
            length = length.clamp(min: 1.0);
        var bin = length / outputSize;
        // Sample k of bin p sits at p * bin + (k + 0.5) * bin / ratio.
        var steps = arange(outputSize * samplingRatio, ScalarType.Float32, start.device);
        var binIndex = (steps / samplingRatio).floor();
        var within = steps - binIndex * samplingRatio + 0.5;
        var coordinates = first.unsqueeze(1) + binIndex.unsqueeze(0) * bin.unsqueeze(1) + within.unsqueeze(0) * bin.unsqueeze(1) / samplingRatio;
        var valid = (coordinates >= -1).logical_and(coordinates <= size);
        return (coordinates, valid);
    }
}
