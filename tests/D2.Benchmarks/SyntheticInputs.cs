using D2.Detection.Modeling;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>Random images with three boxed, polygon-masked objects: enough for a training step of any config.</summary>
internal static class SyntheticInputs
{
    public static ModelInput Image(int height, int width, int seed)
    {
        var generator = new Generator((ulong)seed);
        var instances = new Instances((height, width));
        float w = width, h = height;
        float[] boxes = [0.1f * w, 0.1f * h, 0.4f * w, 0.5f * h, 0.5f * w, 0.2f * h, 0.9f * w, 0.6f * h, 0.2f * w, 0.6f * h, 0.6f * w, 0.95f * h];
        instances.Set("gt_boxes", new Boxes(tensor(boxes, [3, 4])));
        instances.Set("gt_classes", tensor(new long[] { 0, 1, 2 }));
        instances.Set("gt_masks", new PolygonMasks(Enumerable.Range(0, 3).Select(i =>
        {
            double x0 = boxes[4 * i], y0 = boxes[4 * i + 1], x1 = boxes[4 * i + 2], y1 = boxes[4 * i + 3];
            return (IEnumerable<IReadOnlyList<double>>)[new[] { x0, (y0 + y1) / 2, (x0 + x1) / 2, y0, x1, (y0 + y1) / 2, (x0 + x1) / 2, y1 }];
        })));
        return new ModelInput(rand([3, height, width], generator: generator) * 255, instances);
    }
}
