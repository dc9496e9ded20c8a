using D2.Detection.Modeling.ROIHeads;
using D2.Detection.Structures;
using static TorchSharp.torch;

namespace D2.Detection.Tests.ROIHeads;

public class MaskRCNNLossTests
{
    const int M = 4;

    // Image 0: proposal (10, 20, 18, 28), a square polygon over (10..14, 20..24); cropping to the box and scaling by
    // 4 / 8 maps it to (0..2, 0..2), so the pixel centres of rows 0-1 x columns 0-1 are inside: the top-left quadrant.
    static readonly bool[,] Target0 = Grid((r, c) => r < 2 && c < 2);

    // Image 1: an 8x8 bitmask with proposal (2, 2, 6, 6) and M = 4: aligned ROIAlign samples each 1-pixel bin once at
    // its pixel centre, so the crop is the mask's pixels [2, 6) x [2, 6) exactly; they are on where column >= row.
    static readonly bool[,] Target1 = Grid((r, c) => c >= r);

    static bool[,] Grid(Func<int, int, bool> on)
    {
        var grid = new bool[M, M];
        for (var r = 0; r < M; r++)
            for (var c = 0; c < M; c++)
                grid[r, c] = on(r, c);
        return grid;
    }

    // Logits of the gt-class channels: both grids produce right and wrong pixels; values are exact in float32.
    static double Logit0(int r, int c) => (r * 4 + c - 7.5) / 2;

    static double Logit1(int r, int c) => (7.5 - (r * 4 + c)) / 4;

    /// <summary>Two images, one fg ROI each: image 0 class 2 (polygons), image 1 class 0 (bitmasks), K = 3.</summary>
    static List<Instances> TwoImages()
    {
        var image0 = new Instances((40, 40));
        image0.Set("proposal_boxes", new Boxes(tensor(new float[] { 10, 20, 18, 28 }, [1, 4])));
        image0.Set("gt_classes", tensor(new long[] { 2 }));
        image0.Set("gt_masks", new PolygonMasks([[new double[] { 10, 20, 14, 20, 14, 24, 10, 24 }]]));

        var bitmask = new float[8 * 8];
        for (var y = 2; y < 6; y++)
            for (var x = 2; x < 6; x++)
                bitmask[y * 8 + x] = x - 2 >= y - 2 ? 1 : 0;
        var image1 = new Instances((8, 8));
        image1.Set("proposal_boxes", new Boxes(tensor(new float[] { 2, 2, 6, 6 }, [1, 4])));
        image1.Set("gt_classes", tensor(new long[] { 0 }));
        image1.Set("gt_masks", new BitMasks(tensor(bitmask, [1, 8, 8])));
        return [image0, image1];
    }

    /// <summary>(2, channels, M, M): the gt class carries Logit0/Logit1; every other channel a constant that would change the loss.</summary>
    static Tensor Logits(int channels, int class0, int class1)
    {
        var values = new float[2 * channels * M * M];
        for (var k = 0; k < channels; k++)
            for (var r = 0; r < M; r++)
                for (var c = 0; c < M; c++)
                {
                    values[((0 * channels + k) * M + r) * M + c] = k == class0 ? (float)Logit0(r, c) : 6f;
                    values[((1 * channels + k) * M + r) * M + c] = k == class1 ? (float)Logit1(r, c) : -6f;
                }
        return tensor(values, [2, channels, M, M]);
    }

    /// <summary>Binary cross-entropy with logits, averaged over both ROIs' 32 pixels, in float64.</summary>
    static double ExpectedLoss()
    {
        double sum = 0;
        for (var r = 0; r < M; r++)
            for (var c = 0; c < M; c++)
                sum += Bce(Logit0(r, c), Target0[r, c]) + Bce(Logit1(r, c), Target1[r, c]);
        return sum / (2 * M * M);
    }

    static double Bce(double logit, bool target) => Math.Log(1 + Math.Exp(-Math.Abs(logit))) + Math.Max(logit, 0) - (target ? logit : 0);

    [Test]
    public void Loss_is_the_mean_pixel_bce_of_the_gt_class_channel_against_cropped_masks()
    {
        using var scope = NewDisposeScope();
        var (loss, _) = MaskRCNNLoss.Compute(Logits(3, class0: 2, class1: 0), TwoImages());
        Assert.That(loss.dim(), Is.Zero);
        Assert.That(loss.item<float>(), Is.EqualTo(ExpectedLoss()).Within(1e-6));
    }

    [Test]
    public void Loss_reads_only_the_gt_class_channel()
    {
        using var scope = NewDisposeScope();
        // The gt-class channels hold the same values with the classes swapped around: a loss reading channel 0
        // for image 0 (or channel 2 for image 1) would see the constants instead.
        var wrongChannels = Logits(3, class0: 0, class1: 2);
        var (wrong, _) = MaskRCNNLoss.Compute(wrongChannels, TwoImages());
        Assert.That(wrong.item<float>(), Is.Not.EqualTo(ExpectedLoss()).Within(1e-3));

        var logits = Logits(3, class0: 2, class1: 0).requires_grad_();
        var (loss, _) = MaskRCNNLoss.Compute(logits, TwoImages());
        loss.backward();
        var grad = logits.grad!;
        // d(mean BCE)/d(logit) = (sigmoid(logit) - target) / 32 on the chosen channel and 0 elsewhere.
        Assert.That(grad[0, 0].abs().sum().item<float>() + grad[0, 1].abs().sum().item<float>(), Is.Zero);
        Assert.That(grad[1, 1].abs().sum().item<float>() + grad[1, 2].abs().sum().item<float>(), Is.Zero);
        var sigmoid = (double x) => 1 / (1 + Math.Exp(-x));
        Assert.That(grad[0, 2, 1, 0].item<float>(), Is.EqualTo((sigmoid(Logit0(1, 0)) - 1) / 32).Within(1e-7));
        Assert.That(grad[1, 0, 3, 1].item<float>(), Is.EqualTo(sigmoid(Logit1(3, 1)) / 32).Within(1e-7));
    }

    [Test]
    public void Metrics_count_pixels_at_logit_zero_as_Detectron2_logs_them()
    {
        int wrong = 0, falsePositive = 0, falseNegative = 0, positives = 0;
        for (var r = 0; r < M; r++)
            for (var c = 0; c < M; c++)
                foreach (var (logit, target) in new[] { (Logit0(r, c), Target0[r, c]), (Logit1(r, c), Target1[r, c]) })
                {
                    var predicted = logit > 0;
                    positives += target ? 1 : 0;
                    if (predicted == target) continue;
                    wrong++;
                    if (target) falseNegative++;
                    else falsePositive++;
                }

        using var scope = NewDisposeScope();
        var (_, metrics) = MaskRCNNLoss.Compute(Logits(3, class0: 2, class1: 0), TwoImages());
        Assert.That(metrics["mask_rcnn/accuracy"], Is.EqualTo(1 - wrong / 32.0).Within(1e-12));
        Assert.That(metrics["mask_rcnn/false_positive"], Is.EqualTo(falsePositive / (32.0 - positives)).Within(1e-12));
        Assert.That(metrics["mask_rcnn/false_negative"], Is.EqualTo(falseNegative / (double)positives).Within(1e-12));
    }

    [Test]
    public void Class_agnostic_logits_use_their_single_channel()
    {
        using var scope = NewDisposeScope();
        // Class-agnostic: gt_classes are not needed; channel 0 carries the logits.
        var (loss, _) = MaskRCNNLoss.Compute(Logits(1, class0: 0, class1: 0), TwoImages());
        Assert.That(loss.item<float>(), Is.EqualTo(ExpectedLoss()).Within(1e-6));
    }

    [Test]
    public void Without_foreground_the_loss_is_zero_and_still_reaches_the_logits()
    {
        using var scope = NewDisposeScope();
        var logits = randn(2, 3, M, M).requires_grad_();
        var withoutFields = new Instances((10, 10));
        var withoutROIs = new Instances((10, 10));
        withoutROIs.Set("proposal_boxes", new Boxes(zeros(0, 4)));
        var (loss, metrics) = MaskRCNNLoss.Compute(logits, [withoutFields, withoutROIs]);
        Assert.That(loss.item<float>(), Is.Zero);
        Assert.That(loss.requires_grad, Is.True);
        loss.backward();
        Assert.That(logits.grad, Is.Not.Null);
        Assert.That(logits.grad!.abs().sum().item<float>(), Is.Zero);
        Assert.That(metrics, Is.Empty);
    }

    [Test]
    public void A_prediction_count_that_differs_from_the_proposals_is_rejected()
    {
        using var scope = NewDisposeScope();
        Assert.That(() => MaskRCNNLoss.Compute(randn(3, 3, M, M), TwoImages()),
            Throws.ArgumentException.With.Message.Contains("2 fg proposals").And.Message.Contains("3 mask predictions"));
    }
}
