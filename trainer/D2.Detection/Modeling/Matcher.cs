using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Modeling;

/// <summary>
/// Detectron2's Matcher: gives every prediction its best ground truth and a label from the interval its match quality
/// falls in. With thresholds [0.3, 0.7] and labels [0, -1, 1], quality &lt; 0.3 is background (0), [0.3, 0.7) ignored
/// (-1), &gt;= 0.7 foreground (1): lower bounds inclusive.
/// </summary>
public sealed class Matcher
{
    readonly double[] _bounds;

    /// <param name="thresholds">increasing interval bounds, the first positive</param>
    /// <param name="labels">one label per interval (thresholds.Count + 1), each -1 (ignore), 0 (negative) or 1 (positive)</param>
    /// <param name="allowLowQualityMatches">also label 1 every prediction that is the best one for some ground truth
    /// (ties included), as RPN does (Faster R-CNN, Sec. 3.1.2)</param>
    public Matcher(IReadOnlyList<double> thresholds, IReadOnlyList<int> labels, bool allowLowQualityMatches = false)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        ArgumentNullException.ThrowIfNull(labels);
        if (thresholds.Count == 0 || !(thresholds[0] > 0))
            throw new ArgumentException("Matcher thresholds must be non-empty and start above 0.", nameof(thresholds));
        for (var i = 1; i < thresholds.Count; i++)
            if (!(thresholds[i - 1] <= thresholds[i]))
                throw new ArgumentException($"Matcher thresholds must not decrease; got [{string.Join(", ", thresholds)}].", nameof(thresholds));
        if (labels.Count != thresholds.Count + 1)
            throw new ArgumentException($"Matcher needs {thresholds.Count + 1} labels for {thresholds.Count} thresholds; got {labels.Count}.", nameof(labels));
        if (labels.Any(l => l is < -1 or > 1))
            throw new ArgumentException($"Matcher labels must each be -1, 0 or 1; got [{string.Join(", ", labels)}].", nameof(labels));
        Thresholds = [.. thresholds];
        Labels = [.. labels];
        AllowLowQualityMatches = allowLowQualityMatches;
        _bounds = [double.NegativeInfinity, .. thresholds, double.PositiveInfinity];
    }

    public IReadOnlyList<double> Thresholds { get; }
    public IReadOnlyList<int> Labels { get; }
    public bool AllowLowQualityMatches { get; }

    /// <param name="matchQualityMatrix">(M, N) quality (e.g. IoU) of ground truth m with prediction n, all &gt;= 0</param>
    /// <returns>matches: (N) int64 index of each prediction's best ground truth (the first on ties; 0 when M = 0);
    /// matchLabels: (N) int8 label</returns>
    public (Tensor Matches, Tensor MatchLabels) Match(Tensor matchQualityMatrix)
    {
        ArgumentNullException.ThrowIfNull(matchQualityMatrix);
        if (matchQualityMatrix.dim() != 2)
            throw new ArgumentException($"The match quality matrix must be (M ground truths, N predictions); got shape [{string.Join(", ", matchQualityMatrix.shape)}].", nameof(matchQualityMatrix));
        var predictions = matchQualityMatrix.shape[1];
        var device = matchQualityMatrix.device;
        if (matchQualityMatrix.numel() == 0)
        {
            // No ground truth: every IoU counts as 0, so everything takes the lowest interval's label.
            return (zeros(predictions, ScalarType.Int64, device),
                FullLabels(predictions, Labels[0], device));
        }

        using var scope = NewDisposeScope();
        if (!matchQualityMatrix.ge(Zero).all().item<bool>())
            throw new ArgumentException("Match quality values must all be >= 0.", nameof(matchQualityMatrix));
        var (matchedValues, matches) = matchQualityMatrix.max(0);
        var matchLabels = full(predictions, One, ScalarType.Int8, device);
        for (var i = 0; i < Labels.Count; i++)
        {
            using Scalar low = _bounds[i], high = _bounds[i + 1], label = Labels[i];
            var inInterval = matchedValues.ge(low).logical_and(matchedValues.lt(high));
            matchLabels.masked_fill_(inInterval, label);
        }
        if (AllowLowQualityMatches)
            SetLowQualityMatches(matchLabels, matchQualityMatrix);
        return (matches.MoveToOuterDisposeScope(), matchLabels.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// For each ground truth, every prediction reaching its highest quality (ties included) becomes positive; its
    /// matched index stays its own argmax, which may be another ground truth.
    /// </summary>
    static void SetLowQualityMatches(Tensor matchLabels, Tensor matchQualityMatrix)
    {
        var (highestPerGroundTruth, _) = matchQualityMatrix.max(1);
        var isBest = matchQualityMatrix == highestPerGroundTruth.unsqueeze(1);
        matchLabels.masked_fill_(isBest.any(0), One);
    }

    static Tensor FullLabels(long predictions, int label, Device device)
    {
        using var value = label.ToScalar();
        return full(predictions, value, ScalarType.Int8, device);
    }
}
