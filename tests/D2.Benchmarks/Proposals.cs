using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>Proposal-like boxes: random centres in an image, log-uniform sizes and aspect ratios, fixed seed.</summary>
public static class Proposals
{
    /// <returns>(count, 4) float32 XYXY boxes inside a <paramref name="width"/> x <paramref name="height"/> image</returns>
    public static Tensor Random(int count, int width, int height, double minSize, double maxSize, int seed)
    {
        var random = new Random(seed);
        var values = new float[count * 4];
        for (var i = 0; i < count; i++)
        {
            var size = minSize * Math.Pow(maxSize / minSize, random.NextDouble());
            var aspect = Math.Pow(2, random.NextDouble() * 2 - 1);
            double w = Math.Min(size * Math.Sqrt(aspect), width), h = Math.Min(size / Math.Sqrt(aspect), height);
            var x0 = random.NextDouble() * (width - w);
            var y0 = random.NextDouble() * (height - h);
            values[4 * i] = (float)x0;
            values[4 * i + 1] = (float)y0;
            values[4 * i + 2] = (float)(x0 + w);
            values[4 * i + 3] = (float)(y0 + h);
        }
        return tensor(values, [count, 4]);
    }
}
