using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Modeling;

public class SamplingTests
{
    /// <summary>Labels: <paramref name="positives"/> of class 3 and 1, <paramref name="negatives"/> background (80), 7 ignored.</summary>
    static long[] Labels(int positives, int negatives)
    {
        var labels = new List<long>();
        labels.AddRange(Enumerable.Range(0, positives).Select(i => i % 2 == 0 ? 3L : 1L));
        labels.AddRange(Enumerable.Repeat(80L, negatives));
        labels.AddRange(Enumerable.Repeat(-1L, 7));
        var random = new Random(positives * 1000 + negatives);
        return [.. labels.OrderBy(_ => random.Next())];
    }

    [TestCase(40, 300, 64, 16, 48)]
    [TestCase(5, 300, 64, 5, 59)]
    [TestCase(40, 20, 64, 16, 20)]
    [TestCase(3, 4, 64, 3, 4)]
    [TestCase(40, 300, 7, 1, 6)]
    public void SubsampleLabels_takes_up_to_the_positive_fraction_then_fills_with_negatives(
        int positives, int negatives, int numSamples, int expectedPositives, int expectedNegatives)
    {
        using var scope = NewDisposeScope();
        var labels = Labels(positives, negatives);

        var (pos, neg) = Sampling.SubsampleLabels(tensor(labels), numSamples, 0.25, bgLabel: 80, new Generator(1));

        var posIndices = pos.data<long>().ToArray();
        var negIndices = neg.data<long>().ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(posIndices, Has.Length.EqualTo(expectedPositives));
            Assert.That(negIndices, Has.Length.EqualTo(expectedNegatives));
            Assert.That(posIndices, Is.Unique);
            Assert.That(negIndices, Is.Unique);
            Assert.That(posIndices.Select(i => labels[i]), Is.All.Not.EqualTo(80L).And.Not.EqualTo(-1L));
            Assert.That(negIndices.Select(i => labels[i]), Is.All.EqualTo(80L));
        });
    }

    [Test]
    public void SubsampleLabels_is_reproducible_with_a_seeded_generator_and_varies_across_seeds()
    {
        using var scope = NewDisposeScope();
        var labels = tensor(Labels(100, 400));

        long[] Draw(long seed) => Sampling.SubsampleLabels(labels, 64, 0.5, 80, new Generator((ulong)seed)).Positive.data<long>().ToArray();

        var first = Draw(7);
        Assert.That(Draw(7), Is.EqualTo(first));
        Assert.That(Draw(8), Is.Not.EqualTo(first));
    }
}
