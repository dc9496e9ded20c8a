using D2.Detection.Evaluation;
using D2.Detection.Structures;

namespace D2.Detection.Tests.Evaluation;

/// <summary>Mask evaluation with the three COCO segmentation forms, on masks whose pixel counts are known.</summary>
public class CocoSegmEvaluationTests
{
    const double Tolerance = 1e-12;
    const int Height = 20, Width = 30;

    /// <summary>A row-major mask with the rectangle [x, x + w) x [y, y + h) on.</summary>
    static Rle Rectangle(int x, int y, int w, int h)
    {
        var mask = new byte[Height * Width];
        for (var row = y; row < y + h; row++)
        for (var column = x; column < x + w; column++)
            mask[row * Width + column] = 1;
        return Rle.Encode(mask, Height, Width);
    }

    static CocoCase Image() => new CocoCase().Image(1, Height, Width).Category(1);

    [Test]
    public void Segm_evaluation_reads_polygons_and_compressed_and_uncompressed_rle()
    {
        // A polygon with integer corners covers exactly the pixels inside it (pycocotools' rasterisation),
        // so each mask detection below equals its ground truth.
        var evaluation = Image()
            .Truth(1, 1, [0, 0, 10, 10], area: 100, mask: CocoSegmentation.FromPolygons([[0, 0, 10, 0, 10, 10, 0, 10]]))
            .Truth(1, 1, [12, 0, 5, 8], area: 40, mask: CocoSegmentation.FromRle(Rectangle(12, 0, 5, 8), compressed: false))
            .Truth(1, 1, [20, 10, 6, 6], area: 36, mask: CocoSegmentation.FromRle(Rectangle(20, 10, 6, 6)))
            .Detection(1, 1, null, 0.9, CocoSegmentation.FromRle(Rectangle(0, 0, 10, 10)))
            .Detection(1, 1, null, 0.8, CocoSegmentation.FromRle(Rectangle(12, 0, 5, 8)))
            .Detection(1, 1, null, 0.7, CocoSegmentation.FromRle(Rectangle(20, 10, 6, 6)))
            .Evaluate(CocoIouType.Segm);

        Assert.That(evaluation.Stats, Is.EqualTo(new double[] { 1, 1, 1, 1, -1, -1, 1.0 / 3, 1, 1, 1, -1, -1 }).Within(Tolerance));
    }

    [Test]
    public void Segm_evaluation_matches_a_half_covering_mask_only_at_iou_050()
    {
        // 50 of the ground truth's 100 pixels: IoU exactly 0.5, a match at the 0.5 threshold only (>=).
        var evaluation = Image()
            .Truth(1, 1, [0, 0, 10, 10], area: 100, mask: CocoSegmentation.FromRle(Rectangle(0, 0, 10, 10)))
            .Detection(1, 1, null, 0.9, CocoSegmentation.FromRle(Rectangle(0, 0, 5, 10)))
            .Evaluate(CocoIouType.Segm);

        Assert.That(evaluation.Stats[1], Is.EqualTo(1).Within(Tolerance), "AP50");
        Assert.That(evaluation.Stats[2], Is.Zero, "AP75");
        Assert.That(evaluation.Stats[0], Is.EqualTo(0.1).Within(Tolerance), "AP");
    }

    [Test]
    public void Segm_evaluation_ignores_a_mask_inside_a_crowd_region()
    {
        // The crowd region (uncompressed RLE, as COCO stores crowds) absorbs the higher-scored detection.
        var evaluation = Image()
            .Truth(1, 1, [0, 0, 10, 10], area: 100, mask: CocoSegmentation.FromRle(Rectangle(0, 0, 10, 10)))
            .Truth(1, 1, [15, 0, 15, 20], area: 300, crowd: true, mask: CocoSegmentation.FromRle(Rectangle(15, 0, 15, 20), compressed: false))
            .Detection(1, 1, null, 0.95, CocoSegmentation.FromRle(Rectangle(18, 2, 4, 4)))
            .Detection(1, 1, null, 0.9, CocoSegmentation.FromRle(Rectangle(0, 0, 10, 10)))
            .Evaluate(CocoIouType.Segm);

        Assert.That(evaluation.Stats[0], Is.EqualTo(1).Within(Tolerance));
    }

    [Test]
    public void Box_evaluation_of_mask_only_results_uses_the_mask_bounding_box()
    {
        // loadRes gives a result without a bbox the bounding box of its mask.
        var evaluation = Image()
            .Truth(1, 1, [3, 4, 5, 6], area: 30)
            .Detection(1, 1, null, 0.9, CocoSegmentation.FromRle(Rectangle(3, 4, 5, 6)))
            .Evaluate(CocoIouType.Bbox);

        Assert.That(evaluation.Stats[0], Is.EqualTo(1).Within(Tolerance));
    }

    [Test]
    public void Segm_evaluation_refuses_results_without_masks()
    {
        var scenario = Image()
            .Truth(1, 1, [0, 0, 10, 10], mask: CocoSegmentation.FromRle(Rectangle(0, 0, 10, 10)))
            .Detection(1, 1, [0, 0, 10, 10], 0.9);

        var error = Assert.Throws<CocoFormatException>(() => scenario.Evaluate(CocoIouType.Segm));
        Assert.That(error!.Message, Does.Contain("segmentation"));
    }
}
