namespace D2.Detection.Data.Loader;

/// <summary>
/// The augmentation seed of the n-th sample a loader maps: a mix of the loader's seed and n, so the result of mapping a
/// sample does not depend on which worker thread maps it or when (Detectron2 instead seeds each worker process).
/// </summary>
internal static class SampleSeeds
{
    public static int Derive(long loaderSeed, long sequence)
    {
        var z = Mix(unchecked((ulong)loaderSeed) + 0x9E3779B97F4A7C15UL);
        z = Mix(z ^ unchecked((ulong)sequence));
        return unchecked((int)(z >> 32));
    }

    // SplitMix64's finaliser.
    static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
