using D2.Detection.Evaluation;
using static D2.Detection.Tests.Evaluation.CocoCase;

namespace D2.Detection.Tests.Evaluation;

/// <summary>Box evaluation on scenarios small enough to work out by hand. Precision 1 comes out as
/// 1 / (1 + np.spacing(1)), hence the 1e-12 tolerance.</summary>
public class CocoEvaluatorTests
{
    const double Tolerance = 1e-12;

    // stats: AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl
    [Test]
    public void Evaluate_gives_1_for_every_stat_when_detections_equal_the_ground_truth()
    {
        var evaluation = new CocoCase()
            .Image(1).Category(1).Category(2).Category(3)
            .Truth(1, 1, Box(0, 0, 10, 10))     // small
            .Truth(1, 2, Box(20, 20, 50, 50))   // medium
            .Truth(1, 3, Box(70, 70, 120, 120)) // large
            .Detection(1, 1, Box(0, 0, 10, 10), 0.9)
            .Detection(1, 2, Box(20, 20, 50, 50), 0.8)
            .Detection(1, 3, Box(70, 70, 120, 120), 0.7)
            .Evaluate();

        Assert.That(evaluation.Stats, Is.EqualTo(Enumerable.Repeat(1.0, 12)).Within(Tolerance));
    }

    [Test]
    public void Evaluate_matches_hand_computed_pr_curve()
    {
        // Three 10x10 ground truths; detections by score: D1 exact (IoU 1), D2 nowhere (FP),
        // D3 shifted 2 px (IoU 8/12 = 0.667), D4 shifted 1 px (IoU 9/11 = 0.818).
        var evaluation = new CocoCase()
            .Image(1).Category(1)
            .Truth(1, 1, Box(0, 0, 10, 10)).Truth(1, 1, Box(20, 0, 10, 10)).Truth(1, 1, Box(40, 0, 10, 10))
            .Detection(1, 1, Box(0, 0, 10, 10), 0.9)
            .Detection(1, 1, Box(100, 100, 10, 10), 0.8)
            .Detection(1, 1, Box(22, 0, 10, 10), 0.7)
            .Detection(1, 1, Box(41, 0, 10, 10), 0.6)
            .Evaluate();

        // IoU .50-.65 (4 thresholds): TP FP TP TP, recall 1/3 1/3 2/3 1, precision 1 1/2 2/3 3/4, interpolated
        //   1 .75 .75 .75; recall points 0..0.33 (34) read 1, 0.34..1 (67) read .75: AP = 84.25/101.
        // IoU .70-.80 (3): TP FP FP TP, recall 1/3 1/3 1/3 2/3, interpolated 1 .5 .5 .5; 34 points at 1,
        //   0.34..0.66 (33) at .5, the rest 0: AP = 50.5/101.
        // IoU .85-.95 (3): only D1: 34 points at 1: AP = 34/101.
        const double ap50 = 84.25 / 101, ap75 = 50.5 / 101, apHigh = 34.0 / 101;
        const double ap = (4 * ap50 + 3 * ap75 + 3 * apHigh) / 10; // 590.5 / 1010
        // Recall at 100 detections: 1 (x4), 2/3 (x3), 1/3 (x3) -> 0.7; with 1 detection only D1: 1/3.
        double[] expected = [ap, ap50, ap75, ap, -1, -1, 1.0 / 3, 0.7, 0.7, 0.7, -1, -1];
        Assert.That(evaluation.Stats, Is.EqualTo(expected).Within(Tolerance));
        Assert.That(evaluation.Precision(0, 33, 0, 0, 2), Is.EqualTo(1).Within(Tolerance));
        Assert.That(evaluation.Precision(0, 34, 0, 0, 2), Is.EqualTo(0.75).Within(Tolerance));
        Assert.That(evaluation.Score(0, 34, 0, 0, 2), Is.EqualTo(0.7));
    }

    [Test]
    public void Evaluate_ignores_detections_on_a_crowd_region_and_lets_it_absorb_several()
    {
        // Two detections inside the crowd box (IoU with a crowd = intersection / detection area = 1) outrank the
        // only real match; they are ignored, not false positives, so AP stays 1.
        var crowded = new CocoCase()
            .Image(1).Category(1)
            .Truth(1, 1, Box(0, 0, 20, 20))
            .Truth(1, 1, Box(100, 100, 50, 50), crowd: true)
            .Detection(1, 1, Box(110, 110, 10, 10), 0.95)
            .Detection(1, 1, Box(120, 120, 20, 20), 0.9)
            .Detection(1, 1, Box(0, 0, 20, 20), 0.8)
            .Evaluate();
        Assert.That(crowded.Stats[0], Is.EqualTo(1).Within(Tolerance));
        Assert.That(crowded.Stats[8], Is.EqualTo(1));

        // The same region as an ordinary object: both inner detections are false positives ranked first
        // (FP FP TP: precision 1/3 at recall 1/2; the region itself is missed): AP = 51 points * 1/3 / 101.
        var ordinary = new CocoCase()
            .Image(1).Category(1)
            .Truth(1, 1, Box(0, 0, 20, 20))
            .Truth(1, 1, Box(100, 100, 50, 50))
            .Detection(1, 1, Box(110, 110, 10, 10), 0.95)
            .Detection(1, 1, Box(120, 120, 20, 20), 0.9)
            .Detection(1, 1, Box(0, 0, 20, 20), 0.8)
            .Evaluate();
        Assert.That(ordinary.Stats[0], Is.EqualTo(51 * (1 / (3 + 2.220446049250313e-16)) / 101).Within(Tolerance));
    }

    [Test]
    public void Evaluate_counts_detections_on_images_without_ground_truth_as_false_positives()
    {
        // Image 2 has no ground truth and the best-scored detection (a FP); image 3 has a ground truth and no
        // detection; image 4 has neither. Ranked: FP, TP with 2 ground truths: recall 0, 1/2, precision 0, 1/2,
        // interpolated .5 .5; recall points 0..0.5 (51) read .5, the rest 0: AP = 25.5/101 at every IoU.
        var evaluation = new CocoCase()
            .Image(1).Image(2).Image(3).Image(4).Category(1)
            .Truth(1, 1, Box(0, 0, 20, 20))
            .Truth(3, 1, Box(0, 0, 20, 20))
            .Detection(1, 1, Box(0, 0, 20, 20), 0.5)
            .Detection(2, 1, Box(0, 0, 20, 20), 0.9)
            .Evaluate();

        Assert.That(evaluation.Stats[0], Is.EqualTo(25.5 / 101).Within(Tolerance));
        Assert.That(evaluation.Stats[8], Is.EqualTo(0.5));
    }

    [TestCase(100, 0.0, 0.0)] // the true detection ranks 101st: cut
    [TestCase(99, 0.01, 1.0)] // it ranks 100th: precision 1/100 at recall 1, interpolated to every recall point
    public void Evaluate_keeps_only_the_100_best_scored_detections_per_image(int falsePositives, double expectedAp, double expectedAr100)
    {
        var scenario = new CocoCase().Image(1).Category(1).Truth(1, 1, Box(0, 0, 10, 10));
        for (var i = 0; i < falsePositives; i++)
            scenario.Detection(1, 1, Box(150, 150, 10, 10), 0.5 + i * 0.001);
        var evaluation = scenario.Detection(1, 1, Box(0, 0, 10, 10), 0.4).Evaluate();

        Assert.That(evaluation.Stats[0], Is.EqualTo(expectedAp).Within(Tolerance));
        Assert.That(evaluation.Stats[8], Is.EqualTo(expectedAr100));
        Assert.That(evaluation.Stats[7], Is.Zero, "AR10");
    }

    [Test]
    public void Evaluate_averages_over_non_contiguous_categories_and_skips_one_without_ground_truth()
    {
        // Category 5 found (AP 1), 17 missed (AP 0), 90 has only a detection (-1, left out of the mean).
        var scenario = new CocoCase()
            .Image(3).Category(90, "kite").Category(5, "bus").Category(17, "cat")
            .Truth(3, 5, Box(0, 0, 30, 30))
            .Truth(3, 17, Box(50, 50, 30, 30))
            .Detection(3, 5, Box(0, 0, 30, 30), 0.9)
            .Detection(3, 17, Box(120, 120, 30, 30), 0.9)
            .Detection(3, 90, Box(50, 50, 30, 30), 0.9);
        var evaluation = scenario.Evaluate();
        var metrics = scenario.Metrics();

        Assert.That(evaluation.Params.CategoryIds, Is.EqualTo(new long[] { 5, 17, 90 }));
        Assert.That(evaluation.Stats[0], Is.EqualTo(0.5).Within(Tolerance));
        Assert.That(evaluation.Precision(0, 0, 2, 0, 2), Is.EqualTo(-1));
        Assert.That(metrics["AP-bus"], Is.EqualTo(100).Within(1e-10));
        Assert.That(metrics["AP-cat"], Is.Zero);
        Assert.That(metrics["AP-kite"], Is.NaN);
    }

    [Test]
    public void Evaluate_counts_areas_on_a_boundary_in_both_ranges()
    {
        // Area exactly 32² is small and medium, exactly 96² medium and large (pycocotools' bounds are inclusive).
        // In each range the other object is ignored, and so is the detection matched to it.
        var evaluation = new CocoCase()
            .Image(1).Category(1)
            .Truth(1, 1, Box(0, 0, 32, 32))
            .Truth(1, 1, Box(50, 50, 96, 96))
            .Detection(1, 1, Box(0, 0, 32, 32), 0.6)
            .Detection(1, 1, Box(50, 50, 96, 96), 0.9)
            .Evaluate();

        double[] allOnes = [1, 1, 1, 1, 1, 1];
        Assert.That(new[] { 3, 4, 5, 9, 10, 11 }.Select(i => evaluation.Stats[i]), Is.EqualTo(allOnes).Within(Tolerance));
    }

    [Test]
    public void Evaluate_takes_the_area_range_from_the_annotation_area_not_the_box()
    {
        // A 10x10 box whose annotation says area 5000: medium, not small.
        var evaluation = new CocoCase()
            .Image(1).Category(1)
            .Truth(1, 1, Box(0, 0, 10, 10), area: 5000)
            .Detection(1, 1, Box(0, 0, 10, 10), 0.9)
            .Evaluate();

        Assert.That(evaluation.Stats[3], Is.EqualTo(-1), "APs");
        Assert.That(evaluation.Stats[4], Is.EqualTo(1).Within(Tolerance), "APm");
    }

    [Test]
    public void Evaluate_ignores_an_unmatched_detection_outside_the_area_range()
    {
        // A medium false positive (40x50 = 2000) outranks the small true positive. Over all areas it halves the
        // precision (AP .5); for small objects it is ignored (APs 1).
        var evaluation = new CocoCase()
            .Image(1).Category(1)
            .Truth(1, 1, Box(0, 0, 10, 10))
            .Detection(1, 1, Box(100, 100, 40, 50), 0.9)
            .Detection(1, 1, Box(0, 0, 10, 10), 0.5)
            .Evaluate();

        Assert.That(evaluation.Stats[0], Is.EqualTo(0.5).Within(Tolerance));
        Assert.That(evaluation.Stats[3], Is.EqualTo(1).Within(Tolerance));
    }

    [Test]
    public void Evaluate_reports_minus_one_when_there_is_no_ground_truth_at_all()
    {
        var evaluation = new CocoCase().Image(1).Category(1).Detection(1, 1, Box(0, 0, 10, 10), 0.9).Evaluate();

        Assert.That(evaluation.Stats, Is.EqualTo(Enumerable.Repeat(-1.0, 12)));
    }

    [Test]
    public void Evaluate_gives_zero_when_there_are_no_detections()
    {
        var evaluation = new CocoCase().Image(1).Category(1).Truth(1, 1, Box(0, 0, 10, 10)).Evaluate();

        Assert.That(evaluation.Stats, Is.EqualTo(new double[] { 0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1 }));
    }
}
