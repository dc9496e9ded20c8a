using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling;

/// <summary>Detectron2's balanced sampling of positive and negative training examples.</summary>
public static class Sampling
{
    /// <summary>
    /// Picks at most <paramref name="numSamples"/> labelled examples at random: up to
    /// int(numSamples * positiveFraction) positives, then negatives to fill the rest (as many as exist).
    /// </summary>
    /// <param name="labels">(N) integer labels: -1 ignore, <paramref name="bgLabel"/> negative, anything else positive</param>
    /// <param name="numSamples">total number of examples wanted</param>
    /// <param name="positiveFraction">largest share of positives</param>
    /// <param name="bgLabel">the background (negative) label</param>
    /// <param name="generator">random source for the choice; null uses the global one</param>
    /// <returns>positive and negative indices into <paramref name="labels"/>, int64, in random order</returns>
    public static (Tensor Positive, Tensor Negative) SubsampleLabels(Tensor labels, int numSamples, double positiveFraction,
        long bgLabel, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.dim() != 1)
            throw new ArgumentException($"labels must be (N); got shape [{string.Join(", ", labels.shape)}].", nameof(labels));
        ArgumentOutOfRangeException.ThrowIfNegative(numSamples);
        if (!(positiveFraction >= 0 && positiveFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(positiveFraction), positiveFraction, "The positive fraction must lie in [0, 1].");

        using var scope = NewDisposeScope();
        using var background = bgLabel.ToScalar();
        var positive = labels.ne(MinusOne).logical_and(labels.ne(background)).nonzero().squeeze(1);
        var negative = labels.eq(background).nonzero().squeeze(1);

        var numPositive = (int)Math.Min(positive.numel(), (long)(numSamples * positiveFraction));
        var numNegative = (int)Math.Min(negative.numel(), numSamples - numPositive);

        // Prefixes of random permutations: a uniform choice without replacement.
        var pickPositive = randperm(positive.numel(), generator: generator, device: positive.device)[TensorIndex.Slice(null, numPositive)];
        var pickNegative = randperm(negative.numel(), generator: generator, device: negative.device)[TensorIndex.Slice(null, numNegative)];
        return (positive[pickPositive].MoveToOuterDisposeScope(), negative[pickNegative].MoveToOuterDisposeScope());
    }
}
