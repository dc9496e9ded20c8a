using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

public class MatcherTests
{
    static (long[] Matches, sbyte[] Labels) Run(Matcher matcher, float[,] quality)
    {
        var (matches, labels) = matcher.Match(tensor(quality));
        Assert.That(matches.dtype, Is.EqualTo(ScalarType.Int64));
        Assert.That(labels.dtype, Is.EqualTo(ScalarType.Int8));
        return (matches.data<long>().ToArray(), labels.data<sbyte>().ToArray());
    }

    [Test]
    public void Matcher_labels_by_interval_with_inclusive_lower_bounds()
    {
        using var scope = NewDisposeScope();
        var matcher = new Matcher([0.3, 0.7], [0, -1, 1]);
        // Columns: best IoU 0.29, 0.3, 0.69, 0.7, 0.95, 0 (from gt 1, 0, 1, 0, 1, 0).
        var quality = new float[,]
        {
            { 0.1f, 0.3f, 0.2f, 0.7f, 0.5f, 0f },
            { 0.29f, 0.05f, 0.69f, 0.1f, 0.95f, 0f },
        };

        var (matches, labels) = Run(matcher, quality);

        Assert.That(matches, Is.EqualTo(new long[] { 1, 0, 1, 0, 1, 0 }));
        Assert.That(labels, Is.EqualTo(new sbyte[] { 0, -1, -1, 1, 1, 0 }));
    }

    [Test]
    public void Matcher_low_quality_matches_promote_every_tied_best_prediction_of_each_gt()
    {
        using var scope = NewDisposeScope();
        var matcher = new Matcher([0.3, 0.7], [0, -1, 1], allowLowQualityMatches: true);
        // gt 0's best is 0.4, reached by predictions 1 and 3 (a tie); prediction 3 matches gt 1 better (0.5).
        // gt 1's best is 0.5 at prediction 3. Prediction 0 is nobody's best and stays background.
        var quality = new float[,]
        {
            { 0.1f, 0.4f, 0.2f, 0.4f },
            { 0.2f, 0.1f, 0.25f, 0.5f },
        };

        var (matches, labels) = Run(matcher, quality);

        Assert.That(matches, Is.EqualTo(new long[] { 1, 0, 1, 1 }), "a promoted prediction keeps its own argmax gt");
        Assert.That(labels, Is.EqualTo(new sbyte[] { 0, 1, 0, 1 }));
    }

    [Test]
    public void Matcher_low_quality_matches_of_a_gt_that_overlaps_nothing_promote_every_prediction_it_ties_at_zero()
    {
        using var scope = NewDisposeScope();
        // As in Detectron2: gt 1's best quality is 0, and every prediction with quality 0 for it equals that best.
        var matcher = new Matcher([0.3, 0.7], [0, -1, 1], allowLowQualityMatches: true);
        var (_, labels) = Run(matcher, new float[,] { { 0.8f, 0.1f, 0f }, { 0f, 0f, 0f } });
        Assert.That(labels, Is.EqualTo(new sbyte[] { 1, 1, 1 }));
    }

    [Test]
    public void Matcher_takes_the_first_gt_on_equal_quality()
    {
        using var scope = NewDisposeScope();
        var (matches, _) = Run(new Matcher([0.5], [0, 1]), new float[,] { { 0.6f, 0.2f }, { 0.6f, 0.2f } });
        Assert.That(matches, Is.EqualTo(new long[] { 0, 0 }));
    }

    [Test]
    public void Matcher_without_ground_truth_labels_everything_with_the_first_label()
    {
        using var scope = NewDisposeScope();
        var matcher = new Matcher([0.3, 0.7], [0, -1, 1], allowLowQualityMatches: true);

        var (matches, labels) = matcher.Match(zeros(0, 5));

        Assert.That(matches.data<long>().ToArray(), Is.EqualTo(new long[5]));
        Assert.That(labels.data<sbyte>().ToArray(), Is.EqualTo(new sbyte[5]));
        var (_, ignoring) = new Matcher([0.5], [-1, 1]).Match(zeros(0, 3));
        Assert.That(ignoring.data<sbyte>().ToArray(), Is.All.EqualTo((sbyte)-1));
    }

    [Test]
    public void Matcher_rejects_invalid_configuration_and_negative_quality()
    {
        using var scope = NewDisposeScope();
        Assert.Multiple(() =>
        {
            Assert.That(() => new Matcher([0.0, 0.5], [0, -1, 1]), Throws.ArgumentException);
            Assert.That(() => new Matcher([0.7, 0.3], [0, -1, 1]), Throws.ArgumentException);
            Assert.That(() => new Matcher([0.3, 0.7], [0, 1]), Throws.ArgumentException);
            Assert.That(() => new Matcher([0.5], [0, 2]), Throws.ArgumentException);
            Assert.That(() => new Matcher([0.5], [0, 1]).Match(tensor(new float[,] { { -0.1f } })), Throws.ArgumentException);
        });
    }
}
