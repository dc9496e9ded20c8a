using D2.Detection.Structures;
using static TorchSharp.torch;
using D2Postprocessing = D2.Detection.Modeling.Postprocessing;

namespace D2.Detection.Tests.Postprocessing;

public class PasteMasksInImageTests
{
    const int Height = 30, Width = 40, MaskSize = 7;

    /// <summary>
    /// Seeded masks and boxes: ordinary boxes, boxes sticking out of every side of the image, boxes narrower or shorter
    /// than a pixel, and one box entirely outside. Values are float32-exact so the reference sees the same inputs.
    /// </summary>
    static (float[] Masks, float[] Boxes, int Count) RandomCase(int seed)
    {
        var random = new Random(seed);
        const int count = 18;
        var masks = new float[count * MaskSize * MaskSize];
        for (var i = 0; i < masks.Length; i++)
            masks[i] = (float)random.NextDouble();
        var boxes = new float[count * 4];
        for (var i = 0; i < count; i++)
        {
            var tiny = i % 4 == 3;
            var w = tiny ? 0.2 + random.NextDouble() : 1 + random.NextDouble() * 30;
            var h = i % 4 == 2 ? 0.2 + random.NextDouble() : 1 + random.NextDouble() * 25;
            // x0 ranges beyond both borders, so that many boxes are partly outside the image.
            var x0 = -12 + random.NextDouble() * (Width + 12);
            var y0 = -10 + random.NextDouble() * (Height + 10);
            if (i == count - 1)
                (x0, y0) = (Width + 3.5, -20);
            boxes[4 * i] = (float)x0;
            boxes[4 * i + 1] = (float)y0;
            boxes[4 * i + 2] = (float)(x0 + w);
            boxes[4 * i + 3] = (float)(y0 + h);
        }
        return (masks, boxes, count);
    }

    /// <summary>Checks every pixel against the float64 reference; only pixels within 1e-5 of the threshold may differ.</summary>
    static void AssertMatchesReference(Tensor pasted, float[] masks, float[] boxes, int count, double threshold = 0.5)
    {
        Assert.That(pasted.dtype, Is.EqualTo(ScalarType.Bool));
        Assert.That(pasted.shape, Is.EqualTo(new long[] { count, Height, Width }));
        var actual = pasted.contiguous().data<bool>().ToArray();
        long on = 0, borderline = 0;
        for (var n = 0; n < count; n++)
        {
            var mask = new double[MaskSize, MaskSize];
            for (var r = 0; r < MaskSize; r++)
                for (var c = 0; c < MaskSize; c++)
                    mask[r, c] = masks[(n * MaskSize + r) * MaskSize + c];
            var expected = PasteMaskReference.Sample(mask, boxes[4 * n], boxes[4 * n + 1], boxes[4 * n + 2], boxes[4 * n + 3], Height, Width);
            for (var y = 0; y < Height; y++)
                for (var x = 0; x < Width; x++)
                {
                    var value = expected[y, x];
                    var got = actual[(n * Height + y) * Width + x];
                    if (Math.Abs(value - threshold) < 1e-5)
                    {
                        borderline++;
                        continue;
                    }
                    Assert.That(got, Is.EqualTo(value >= threshold), $"mask {n}, pixel (x {x}, y {y}), reference {value}");
                    on += got ? 1 : 0;
                }
        }
        Assert.That(on, Is.GreaterThan(100), "the case must exercise pasting, not only empty masks");
        Assert.That(borderline, Is.LessThan(5));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Paste_matches_a_float64_grid_sample_reference_on_random_masks_and_boxes(int seed)
    {
        using var scope = NewDisposeScope();
        var (masks, boxes, count) = RandomCase(seed);
        using var boxesStructure = new Boxes(tensor(boxes, [count, 4]));
        var pasted = D2Postprocessing.PasteMasksInImage(tensor(masks, [count, MaskSize, MaskSize]), boxesStructure, (Height, Width));
        AssertMatchesReference(pasted, masks, boxes, count);
    }

    [Test]
    public void Whole_image_chunks_give_the_same_masks_as_box_restricted_pasting()
    {
        using var scope = NewDisposeScope();
        var (masks, boxes, count) = RandomCase(4);
        var maskTensor = tensor(masks, [count, MaskSize, MaskSize]);
        var boxTensor = tensor(boxes, [count, 4]);
        // Detectron2's GPU strategy (whole image, several masks per call) and per-chunk union regions, run on the CPU.
        var wholeImage = D2Postprocessing.Paste(maskTensor, boxTensor, (Height, Width), 0.5, restrictToBoxes: false, chunkSize: 5);
        var unionRegions = D2Postprocessing.Paste(maskTensor, boxTensor, (Height, Width), 0.5, restrictToBoxes: true, chunkSize: 4);
        AssertMatchesReference(wholeImage, masks, boxes, count);
        AssertMatchesReference(unionRegions, masks, boxes, count);
    }

    [Test]
    public void A_full_mask_on_a_small_box_covers_the_box_pixels_only()
    {
        using var scope = NewDisposeScope();
        // All-ones 2x2 mask on (2, 2, 6, 6), cells 2 px: the sample fades from 1 to 0 over one cell across the edge,
        // so pixel centres 0.5 px inside weigh 0.75 per axis (corners 0.5625: on) and 0.5 px outside 0.25 (off).
        using var boxes = new Boxes(tensor(new float[] { 2, 2, 6, 6 }, [1, 4]));
        var pasted = D2Postprocessing.PasteMasksInImage(ones(1, 2, 2), boxes, (8, 8));
        var expected = zeros(1, 8, 8, ScalarType.Bool);
        expected[0, 2..6, 2..6].fill_(true);
        Assert.That(pasted.data<bool>().ToArray(), Is.EqualTo(expected.data<bool>().ToArray()));
    }

    [Test]
    public void The_threshold_decides_which_samples_are_on()
    {
        using var scope = NewDisposeScope();
        var (masks, boxes, count) = RandomCase(5);
        using var boxesStructure = new Boxes(tensor(boxes, [count, 4]));
        var pasted = D2Postprocessing.PasteMasksInImage(tensor(masks, [count, MaskSize, MaskSize]), boxesStructure, (Height, Width), 0.7);
        AssertMatchesReference(pasted, masks, boxes, count, threshold: 0.7);
    }

    [Test]
    public void No_detections_give_an_empty_stack_of_image_sized_masks()
    {
        using var scope = NewDisposeScope();
        using var boxes = new Boxes(zeros(0, 4));
        var pasted = D2Postprocessing.PasteMasksInImage(zeros(0, 28, 28), boxes, (Height, Width));
        Assert.That(pasted.shape, Is.EqualTo(new long[] { 0, Height, Width }));
        Assert.That(pasted.dtype, Is.EqualTo(ScalarType.Bool));
    }
}
