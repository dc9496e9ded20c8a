using D2.Detection.Config;

namespace D2.Detection.Data.Transforms;

/// <summary>Detectron2's <c>RandomFlip</c> (spec §3.2): with probability <see cref="Probability"/>, mirror horizontally or vertically.</summary>
public sealed class RandomFlip : IAugmentation
{
    public RandomFlip(double probability = 0.5, bool horizontal = true, bool vertical = false)
    {
        if (horizontal == vertical)
            throw new ArgumentException(horizontal ? "Cannot do both horizontal and vertical flips; choose one." : "A flip must be horizontal or vertical.");
        if (probability is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(probability), probability, "Probability must lie in [0, 1].");
        Probability = probability;
        Horizontal = horizontal;
    }

    public double Probability { get; }

    /// <summary>True for a left-right mirror, false for top-bottom.</summary>
    public bool Horizontal { get; }

    /// <summary>The training flip INPUT.RANDOM_FLIP asks for ("horizontal", "vertical"), or null for "none".</summary>
    public static RandomFlip? FromConfig(CfgNode cfg)
    {
        ArgumentNullException.ThrowIfNull(cfg);
        var mode = cfg.Get<string>("INPUT.RANDOM_FLIP");
        return mode switch
        {
            "none" => null,
            "horizontal" => new RandomFlip(0.5, horizontal: true, vertical: false),
            "vertical" => new RandomFlip(0.5, horizontal: false, vertical: true),
            _ => throw new ArgumentException($"INPUT.RANDOM_FLIP '{mode}' is not supported; use \"horizontal\", \"vertical\" or \"none\".", nameof(cfg)),
        };
    }

    public Transform GetTransform(int height, int width, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        // One uniform draw in [0, 1) every time, flip when below the probability (Detectron2's _rand_range() < prob).
        if (random.NextDouble() >= Probability) return NoOpTransform.Instance;
        return Horizontal ? new HFlipTransform(width) : new VFlipTransform(height);
    }

    public override string ToString() => $"RandomFlip(prob={Probability}, horizontal={Horizontal}, vertical={!Horizontal})";
}
