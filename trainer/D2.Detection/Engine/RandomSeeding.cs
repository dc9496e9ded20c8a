using static TorchSharp.torch;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's <c>seed_all_rng</c> as <c>default_setup</c> calls it: SEED + rank seeds torch's generators (CPU and
/// CUDA), so that two runs with the same SEED start from the same random weights; SEED &lt; 0 draws a seed (logged, to
/// reproduce the run). The data order has its own shared seed (the sampler's), so ranks differ only in augmentation.
/// </summary>
public static class RandomSeeding
{
    /// <returns>the seed used</returns>
    public static long SeedAllRng(long configSeed, int rank = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        // Detectron2 draws pid + time + 2 random bytes; any 31-bit seed serves.
        var seed = configSeed >= 0 ? configSeed + rank : Random.Shared.NextInt64(int.MaxValue);
        manual_seed(seed);
        if (cuda.is_available())
            cuda.manual_seed_all(seed);
        return seed;
    }
}
