using D2.Detection.Layers;
using System.Collections;
using static TorchSharp.torch;

namespace D2.Detection.Data.Loader;

/// <summary>
/// Detectron2's <c>TrainingSampler</c> (spec §4): an endless stream of dataset indices, each "epoch" a fresh random
/// permutation drawn from one torch generator seeded once. The permutations come from libtorch's own randperm, so the
/// order is the one Detectron2 would produce with the same seed on the same libtorch.
/// </summary>
public sealed class TrainingSampler : IEnumerable<int>
{
    /// <param name="size">number of records</param>
    /// <param name="shuffle">false: 0, 1, ..., size - 1 over and over</param>
    /// <param name="seed">Detectron2 passes cfg.SEED as is, so the default -1 is a fixed seed too (reinterpreted as unsigned, as torch does)</param>
    public TrainingSampler(int size, bool shuffle = true, long seed = -1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        Size = size;
        Shuffle = shuffle;
        Seed = seed;
    }

    public int Size { get; }

    public bool Shuffle { get; }

    public long Seed { get; }

    /// <summary>A new stream from the start: every enumerator seeds its own generator, so two give the same sequence.</summary>
    public IEnumerator<int> GetEnumerator()
    {
        using var generator = new Generator(unchecked((ulong)Seed));
        while (true)
        {
            if (!Shuffle)
            {
                for (var i = 0; i < Size; i++) yield return i;
                continue;
            }
            long[] permutation;
            using (var indices = randperm(Size, generator: generator)) permutation = TensorMemory.ToArray<long>(indices);
            foreach (var i in permutation) yield return (int)i;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
