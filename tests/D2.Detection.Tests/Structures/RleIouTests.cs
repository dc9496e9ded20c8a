using D2.Detection.Structures;
using static D2.Detection.Tests.Structures.MaskFixtures;

namespace D2.Detection.Tests.Structures;

/// <summary>Merge and IoU on runs (pycocotools rleMerge / rleIou / bbIou) against pixel counting and hand values.</summary>
public class RleIouTests
{
    [Test]
    public void Merge_union_and_intersection_match_pixel_logic_on_random_masks()
    {
        var random = new Random(5);
        for (var trial = 0; trial < 200; trial++)
        {
            int h = random.Next(1, 25), w = random.Next(1, 25), n = random.Next(1, 5);
            var masks = Enumerable.Range(0, n).Select(_ => RandomMask(random, h, w)).ToList();
            var rles = masks.Select(m => Rle.Encode(m, h, w)).ToList();
            var union = new byte[h * w];
            var intersection = Enumerable.Repeat((byte)1, h * w).ToArray();
            foreach (var m in masks)
            {
                for (var i = 0; i < m.Length; i++)
                {
                    union[i] |= m[i];
                    intersection[i] &= m[i];
                }
            }

            Assert.That(Rle.Merge(rles).Decode(), Is.EqualTo(union), $"trial {trial} union");
            Assert.That(Rle.Merge(rles, intersect: true).Decode(), Is.EqualTo(intersection), $"trial {trial} intersection");
            // Same runs as encoding the pixels directly: the merged counts are canonical (no empty runs inside).
            Assert.That(Rle.Merge(rles).Counts, Is.EqualTo(Rle.Encode(union, h, w).Counts));
        }
    }

    [Test]
    public void Zero_pixel_masks_merge_and_compare_without_error()
    {
        var noRuns = Rle.FromCompressedString("", 0, 5);
        var oneRun = Rle.Encode([], 0, 5);

        Assert.That(Rle.Merge([noRuns, oneRun]).Area(), Is.Zero);
        Assert.That(Rle.Iou([noRuns], [oneRun], [false])[0, 0], Is.Zero);
    }

    [Test]
    public void Merge_rejects_masks_of_different_sizes()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            Rle.Merge([Rle.Encode(new byte[6], 2, 3), Rle.Encode(new byte[6], 3, 2)]));

        Assert.That(error!.Message, Does.Contain("3x2").And.Contain("2x3"));
    }

    [Test]
    public void Iou_matches_pixel_counts_on_random_masks_including_crowd()
    {
        var random = new Random(6);
        for (var trial = 0; trial < 100; trial++)
        {
            int h = random.Next(1, 30), w = random.Next(1, 30);
            var dts = Enumerable.Range(0, random.Next(1, 5)).Select(_ => RandomMask(random, h, w)).ToList();
            var gts = Enumerable.Range(0, random.Next(1, 5)).Select(_ => RandomMask(random, h, w)).ToList();
            var crowd = gts.Select(_ => random.Next(2) == 0).ToList();

            var iou = Rle.Iou(dts.Select(m => Rle.Encode(m, h, w)).ToList(), gts.Select(m => Rle.Encode(m, h, w)).ToList(), crowd);

            Assert.That(iou.GetLength(0), Is.EqualTo(dts.Count));
            Assert.That(iou.GetLength(1), Is.EqualTo(gts.Count));
            for (var d = 0; d < dts.Count; d++)
            for (var g = 0; g < gts.Count; g++)
            {
                var inter = CountBoth(dts[d], gts[g]);
                // Crowd regions are compared against the detection's own area (pycocotools).
                var denominator = crowd[g] ? CountOn(dts[d]) : CountEither(dts[d], gts[g]);
                var expected = inter == 0 ? 0.0 : (double)inter / denominator;
                Assert.That(iou[d, g], Is.EqualTo(expected), $"trial {trial} [{d},{g}] crowd={crowd[g]}");
            }
        }
    }

    [Test]
    public void Iou_against_a_crowd_region_is_the_covered_fraction_of_the_detection()
    {
        // Detection: 2x2 block at the top-left of a 4x4 image (area 4). Crowd gt: the left half (area 8).
        // Overlap 4: crowd IoU = 4 / 4 = 1, ordinary IoU = 4 / 8 = 0.5.
        var dt = Rle.Encode(FromPicture("##..", "##..", "....", "...."), 4, 4);
        var gt = Rle.Encode(FromPicture("##..", "##..", "##..", "##.."), 4, 4);

        var iou = Rle.Iou([dt], [gt, gt], [true, false]);

        Assert.That(iou[0, 0], Is.EqualTo(1.0));
        Assert.That(iou[0, 1], Is.EqualTo(0.5));
    }

    [Test]
    public void Iou_of_disjoint_or_empty_masks_is_zero()
    {
        var left = Rle.Encode(FromPicture("#..", "#.."), 2, 3);
        var right = Rle.Encode(FromPicture("..#", "..#"), 2, 3);
        var empty = Rle.Encode(new byte[6], 2, 3);

        var iou = Rle.Iou([left, empty], [right, empty], [false, true]);

        Assert.That(iou, Is.EqualTo(new double[,] { { 0, 0 }, { 0, 0 } }));
    }

    [Test]
    public void Iou_with_no_detections_or_ground_truths_is_an_empty_matrix()
    {
        var mask = Rle.Encode(new byte[4], 2, 2);

        Assert.That(Rle.Iou([], [mask], [false]).GetLength(0), Is.Zero);
        Assert.That(Rle.Iou([mask], [], []).GetLength(1), Is.Zero);
    }

    [Test]
    public void Iou_names_a_size_mismatch_and_a_crowd_flag_count_mismatch()
    {
        var small = Rle.Encode(new byte[4], 2, 2);
        var large = Rle.Encode(new byte[9], 3, 3);

        var size = Assert.Throws<ArgumentException>(() => Rle.Iou([small], [large], [false]));
        var flags = Assert.Throws<ArgumentException>(() => Rle.Iou([small], [small], []));

        Assert.That(size!.Message, Does.Contain("Detection 0 is 2x2").And.Contain("ground truth 0 is 3x3"));
        Assert.That(flags!.Message, Does.Contain("0 flags").And.Contain("1 ground truths"));
    }

    [Test]
    public void BoxIou_matches_hand_computed_values()
    {
        // gt [2, 1, 4, 4] spans x 2..6, y 1..5 (area 16).
        // dt [0, 0, 4, 3] (x 0..4, y 0..3, area 12): overlap 2 * 2 = 4 -> 4 / (12 + 16 - 4) = 1/6; crowd 4 / 12 = 1/3.
        // dt [4, 0, 2, 2] (x 4..6, y 0..2, area 4): overlap 2 * 1 = 2 -> 2 / (4 + 16 - 2) = 1/9.
        // dt [6, 1, 2, 2] only shares the edge x = 6: zero width, IoU 0. dt [10, 10, 1, 1] is far away.
        double[][] dts = [[0, 0, 4, 3], [4, 0, 2, 2], [6, 1, 2, 2], [10, 10, 1, 1]];
        double[][] gts = [[2, 1, 4, 4], [2, 1, 4, 4]];

        var iou = Rle.BoxIou(dts, gts, [false, true]);

        Assert.That(iou[0, 0], Is.EqualTo(1.0 / 6).Within(1e-15));
        Assert.That(iou[0, 1], Is.EqualTo(1.0 / 3).Within(1e-15));
        Assert.That(iou[1, 0], Is.EqualTo(1.0 / 9).Within(1e-15));
        Assert.That(iou[1, 1], Is.EqualTo(2.0 / 4).Within(1e-15));
        Assert.That(iou[2, 0], Is.Zero);
        Assert.That(iou[3, 1], Is.Zero);
    }

    [Test]
    public void BoxIou_rejects_boxes_that_are_not_xywh()
    {
        var error = Assert.Throws<ArgumentException>(() => Rle.BoxIou([[0, 0, 1]], [[0, 0, 1, 1]], [false]));

        Assert.That(error!.Message, Does.Contain("Box 0").And.Contain("3 values"));
    }

    [Test]
    public void Iou_equals_box_iou_for_masks_that_are_boxes()
    {
        // Integer-aligned boxes rasterise exactly, so mask IoU and box IoU must agree.
        double[][] dtBoxes = [[1, 1, 5, 4], [0, 3, 7, 2]];
        double[][] gtBoxes = [[2, 0, 3, 6], [4, 2, 4, 4]];
        var dts = dtBoxes.Select(b => Rle.FromBbox(b[0], b[1], b[2], b[3], 8, 9)).ToList();
        var gts = gtBoxes.Select(b => Rle.FromBbox(b[0], b[1], b[2], b[3], 8, 9)).ToList();
        bool[] crowd = [false, true];

        var masks = Rle.Iou(dts, gts, crowd);
        var boxes = Rle.BoxIou(dtBoxes, gtBoxes, crowd);

        Assert.That(masks, Is.EqualTo(boxes).Within(1e-12));
    }
}
