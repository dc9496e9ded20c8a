using D2.Detection.Modeling.ROIHeads;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.ROIHeads;

public class FastRCNNInferenceTests
{
    // Scores are binary fractions so that "equal to the threshold" is exact in float32.
    const double Threshold = 0.125;

    /// <summary>
    /// Three ROIs, K = 2 (boxes R x 8, scores R x 3 with background last), image 100 x 110.
    /// Candidates above 0.125: (0, c0) 0.625, (0, c1) 0.25, (1, c0) 0.5, (2, c1) 0.75; (1, c1) and (2, c0) sit exactly
    /// at the threshold and the background column (0.375 for ROI 1) never counts.
    /// Class 0: (0, c0) (0,0,10,10) suppresses (1, c0) (1,0,11,10), IoU 90 / 110.
    /// Class 1: (2, c1) (-5,-5,10,10) clips to (0,0,10,10) and suppresses (0, c1) (1,1,11,11), IoU 81 / 119;
    /// it keeps (0, c0), the same box in another class.
    /// </summary>
    static (Tensor Boxes, Tensor Scores) HandCase()
    {
        var boxes = tensor(new float[]
        {
            0, 0, 10, 10, /**/ 1, 1, 11, 11,
            1, 0, 11, 10, /**/ 50, 50, 60, 60,
            100, 100, 120, 130, /**/ -5, -5, 10, 10,
        }, [3, 8]);
        var scores = tensor(new float[]
        {
            0.625f, 0.25f, 0.125f,
            0.5f, 0.125f, 0.375f,
            0.125f, 0.75f, 0.125f,
        }, [3, 3]);
        return (boxes, scores);
    }

    static float[] Floats(Tensor t) => t.contiguous().data<float>().ToArray();

    static long[] Longs(Tensor t) => t.contiguous().data<long>().ToArray();

    [Test]
    public void Hand_case_keeps_the_best_box_per_class_cluster_in_score_order()
    {
        using var scope = NewDisposeScope();
        var (boxes, scores) = HandCase();
        var (result, kept) = FastRCNNInference.SingleImage(boxes, scores, (100, 110), Threshold, 0.5, 100);

        Assert.That(result.ImageSize, Is.EqualTo((100, 110)));
        Assert.That(Floats(result.Get<Tensor>("scores")), Is.EqualTo(new[] { 0.75f, 0.625f }));
        Assert.That(Longs(result.Get<Tensor>("pred_classes")), Is.EqualTo(new long[] { 1, 0 }));
        Assert.That(Longs(kept), Is.EqualTo(new long[] { 2, 0 }));
        // Overlapping boxes of different classes are both kept; the first is the clipped one.
        Assert.That(Floats(result.Get<Boxes>("pred_boxes").Tensor), Is.EqualTo(new float[] { 0, 0, 10, 10, 0, 0, 10, 10 }));
        Assert.That(result.Get<Tensor>("pred_classes").dtype, Is.EqualTo(ScalarType.Int64));
    }

    [Test]
    public void Without_suppression_every_pair_strictly_above_the_threshold_survives_but_never_background()
    {
        using var scope = NewDisposeScope();
        var (boxes, scores) = HandCase();
        // IoU threshold 1: nothing is suppressed, so the output is the score filter alone.
        var (result, kept) = FastRCNNInference.SingleImage(boxes, scores, (100, 110), Threshold, 1.0, -1);

        Assert.That(Floats(result.Get<Tensor>("scores")), Is.EqualTo(new[] { 0.75f, 0.625f, 0.5f, 0.25f }));
        Assert.That(Longs(result.Get<Tensor>("pred_classes")), Is.EqualTo(new long[] { 1, 0, 0, 1 }));
        Assert.That(Longs(kept), Is.EqualTo(new long[] { 2, 0, 1, 0 }));

        // Just below the scores at the threshold, they pass as well.
        var (lower, _) = FastRCNNInference.SingleImage(boxes, scores, (100, 110), 0.124, 1.0, -1);
        Assert.That(lower.Length, Is.EqualTo(6), "(1, c1) and (2, c0) join; background (column 2) still never does");
        Assert.That(Longs(lower.Get<Tensor>("pred_classes")), Has.All.LessThan(2));
    }

    [Test]
    public void Top_k_keeps_the_highest_scores()
    {
        using var scope = NewDisposeScope();
        var (boxes, scores) = HandCase();
        var (result, kept) = FastRCNNInference.SingleImage(boxes, scores, (100, 110), Threshold, 1.0, 3);
        Assert.That(Floats(result.Get<Tensor>("scores")), Is.EqualTo(new[] { 0.75f, 0.625f, 0.5f }));
        Assert.That(Longs(kept), Is.EqualTo(new long[] { 2, 0, 1 }));
        var (none, _) = FastRCNNInference.SingleImage(boxes, scores, (100, 110), Threshold, 1.0, 0);
        Assert.That(none.Length, Is.Zero);
    }

    [Test]
    public void Boxes_are_clipped_to_the_image()
    {
        using var scope = NewDisposeScope();
        var (boxes, scores) = HandCase();
        // Only (2, c0) (100,100,120,130) -> (100,100,110,100) passes a threshold below 0.125 in class 0 for ROI 2.
        var lowScores = scores.clone();
        lowScores[0].fill_(0);
        lowScores[1].fill_(0);
        lowScores[2, 1].fill_(0);
        var (result, _) = FastRCNNInference.SingleImage(boxes, lowScores, (100, 110), 0.1, 0.5, -1);
        Assert.That(Floats(result.Get<Boxes>("pred_boxes").Tensor), Is.EqualTo(new float[] { 100, 100, 110, 100 }));
    }

    [Test]
    public void Rows_with_non_finite_values_are_dropped_and_kept_indices_still_name_input_rows()
    {
        using var scope = NewDisposeScope();
        var (boxes, scores) = HandCase();
        // Row 0 has a NaN box coordinate, row 1 an infinite score; both would otherwise pass the threshold.
        var badBoxes = tensor(new float[] { 0, 0, float.NaN, 5, 0, 0, 5, 5, /**/ 0, 0, 5, 5, 0, 0, 5, 5 }, [2, 8]);
        var badScores = tensor(new float[] { 0.875f, 0.875f, 0, /**/ 0.875f, 0, float.PositiveInfinity }, [2, 3]);
        var rowsBefore = cat([badBoxes, boxes], 0);
        var scoresBefore = cat([badScores, scores], 0);

        var (result, kept) = FastRCNNInference.SingleImage(rowsBefore, scoresBefore, (100, 110), Threshold, 0.5, 100);
        Assert.That(Floats(result.Get<Tensor>("scores")), Is.EqualTo(new[] { 0.75f, 0.625f }));
        // The hand case's ROIs 2 and 0 now sit at rows 4 and 2, behind the two dropped rows.
        Assert.That(Longs(kept), Is.EqualTo(new long[] { 4, 2 }));
    }

    [Test]
    public void Class_agnostic_boxes_are_shared_by_every_class()
    {
        using var scope = NewDisposeScope();
        var boxes = tensor(new float[] { 0, 0, 10, 10, 20, 20, 30, 30 }, [2, 4]);
        var scores = tensor(new float[] { 0.5f, 0.25f, 0.25f, 0.0625f, 0.75f, 0.1875f }, [2, 3]);
        var (result, kept) = FastRCNNInference.SingleImage(boxes, scores, (50, 50), Threshold, 0.5, -1);
        Assert.That(Longs(result.Get<Tensor>("pred_classes")), Is.EqualTo(new long[] { 1, 0, 1 }));
        Assert.That(Longs(kept), Is.EqualTo(new long[] { 1, 0, 0 }));
        Assert.That(Floats(result.Get<Boxes>("pred_boxes").Tensor), Is.EqualTo(new float[] { 20, 20, 30, 30, 0, 0, 10, 10, 0, 0, 10, 10 }));
    }

    [Test]
    public void Run_treats_each_image_independently_and_handles_empty_images()
    {
        using var scope = NewDisposeScope();
        var (boxes, scores) = HandCase();
        var (results, kept) = FastRCNNInference.Run([boxes, zeros(0, 8)], [scores, zeros(0, 3)], [(100, 110), (7, 9)], Threshold, 0.5, 100);
        Assert.That(results.Select(r => r.Length), Is.EqualTo(new long[] { 2, 0 }));
        Assert.That(results[1].ImageSize, Is.EqualTo((7, 9)));
        Assert.That(results[1].Get<Boxes>("pred_boxes").Tensor.shape, Is.EqualTo(new long[] { 0, 4 }));
        Assert.That(Longs(kept[0]), Is.EqualTo(new long[] { 2, 0 }));
        Assert.That(kept[1].shape, Is.EqualTo(new long[] { 0 }));
    }
}
