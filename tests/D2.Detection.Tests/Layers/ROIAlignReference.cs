namespace D2.Detection.Tests.Layers;

/// <summary>
/// ROIAlign written straight from the specification (detectron2-spec §12.2, torchvision's kernel semantics) with
/// plain loops in float64: one bilinear sample at a time, no precomputation. Forward and its adjoint.
/// </summary>
internal sealed class ROIAlignReference(int batch, int channels, int height, int width, int outH, int outW,
    double spatialScale, int samplingRatio, bool aligned)
{
    /// <param name="input">(N, C, H, W) row-major</param>
    /// <param name="rois">(R, 5) row-major</param>
    /// <returns>(R, C, outH, outW) row-major</returns>
    public double[] Forward(double[] input, double[] rois)
    {
        var roiCount = rois.Length / 5;
        var output = new double[roiCount * channels * outH * outW];
        for (var r = 0; r < roiCount; r++)
        for (var c = 0; c < channels; c++)
        for (var ph = 0; ph < outH; ph++)
        for (var pw = 0; pw < outW; pw++)
        {
            var sum = 0.0;
            var count = ForEachSample(rois, r, ph, pw, (y, x) =>
            {
                foreach (var (row, col, weight) in Bilinear(y, x))
                    sum += weight * input[Index(N(rois, r), c, row, col)];
            });
            output[((r * channels + c) * outH + ph) * outW + pw] = sum / count;
        }
        return output;
    }

    /// <summary>d(sum(output * gradOutput)) / d input.</summary>
    public double[] Backward(double[] gradOutput, double[] rois)
    {
        var roiCount = rois.Length / 5;
        var gradInput = new double[batch * channels * height * width];
        for (var r = 0; r < roiCount; r++)
        for (var c = 0; c < channels; c++)
        for (var ph = 0; ph < outH; ph++)
        for (var pw = 0; pw < outW; pw++)
        {
            var g = gradOutput[((r * channels + c) * outH + ph) * outW + pw];
            var samples = new List<(double Y, double X)>();
            var count = ForEachSample(rois, r, ph, pw, (y, x) => samples.Add((y, x)));
            foreach (var (y, x) in samples)
                foreach (var (row, col, weight) in Bilinear(y, x))
                    gradInput[Index(N(rois, r), c, row, col)] += g * weight / count;
        }
        return gradInput;
    }

    static int N(double[] rois, int r) => (int)rois[r * 5];

    int Index(int n, int c, int y, int x) => ((n * channels + c) * height + y) * width + x;

    /// <returns>the divisor of the average: the grid size, at least 1</returns>
    double ForEachSample(double[] rois, int r, int ph, int pw, Action<double, double> sample)
    {
        var offset = aligned ? 0.5 : 0.0;
        var x0 = rois[r * 5 + 1] * spatialScale - offset;
        var y0 = rois[r * 5 + 2] * spatialScale - offset;
        var x1 = rois[r * 5 + 3] * spatialScale - offset;
        var y1 = rois[r * 5 + 4] * spatialScale - offset;
        var roiW = x1 - x0;
        var roiH = y1 - y0;
        if (!aligned)
        {
            roiW = Math.Max(roiW, 1.0);
            roiH = Math.Max(roiH, 1.0);
        }
        var binH = roiH / outH;
        var binW = roiW / outW;
        var gridH = samplingRatio > 0 ? samplingRatio : (int)Math.Ceiling(roiH / outH);
        var gridW = samplingRatio > 0 ? samplingRatio : (int)Math.Ceiling(roiW / outW);
        var count = Math.Max(gridH * gridW, 1);
        for (var iy = 0; iy < gridH; iy++)
        for (var ix = 0; ix < gridW; ix++)
            sample(y0 + ph * binH + (iy + 0.5) * binH / gridH, x0 + pw * binW + (ix + 0.5) * binW / gridW);
        return count;
    }

    /// <summary>The (row, column, weight) taps of one bilinear sample; none when it lies outside [-1, H] x [-1, W].</summary>
    IEnumerable<(int Row, int Col, double Weight)> Bilinear(double y, double x)
    {
        if (y < -1 || y > height || x < -1 || x > width)
            yield break;
        y = Math.Max(y, 0);
        x = Math.Max(x, 0);
        int yLow = (int)Math.Floor(y), xLow = (int)Math.Floor(x), yHigh, xHigh;
        if (yLow >= height - 1)
        {
            yLow = yHigh = height - 1;
            y = yLow;
        }
        else
        {
            yHigh = yLow + 1;
        }
        if (xLow >= width - 1)
        {
            xLow = xHigh = width - 1;
            x = xLow;
        }
        else
        {
            xHigh = xLow + 1;
        }
        double ly = y - yLow, lx = x - xLow, hy = 1 - ly, hx = 1 - lx;
        yield return (yLow, xLow, hy * hx);
        yield return (yLow, xHigh, hy * lx);
        yield return (yHigh, xLow, ly * hx);
        yield return (yHigh, xHigh, ly * lx);
    }
}
