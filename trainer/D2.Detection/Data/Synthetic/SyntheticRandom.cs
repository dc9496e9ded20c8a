namespace D2.Detection.Data.Synthetic;

/// <summary>
/// A small seeded generator (SplitMix64) owned by this code, so that a seed gives the same dataset on every runtime
/// version: System.Random's algorithm is an implementation detail of .NET.
/// </summary>
internal sealed class SyntheticRandom
{
    ulong _state;

    public SyntheticRandom(ulong seed) => _state = seed;

    /// <summary>An independent stream for one item (e.g. one image of one split), so items do not depend on each other's draws.</summary>
    public static SyntheticRandom For(long seed, int stream, int index) =>
        new(Mix(Mix(Mix((ulong)seed) ^ (ulong)(uint)stream) ^ (ulong)(uint)index));

    public ulong NextUInt64() => Mix(_state += 0x9E3779B97F4A7C15UL);

    /// <summary>Uniform in [0, 1), 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [low, high).</summary>
    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Uniform integer in [low, high] (both included).</summary>
    public int Int(int low, int high) => low + (int)(NextUInt64() % (ulong)(high - low + 1));

    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
