using D2.Detection.Layers;
using System.Collections;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Data.Loader;

/// <summary>
/// Detectron2's <c>RepeatFactorTrainingSampler</c> (spec §4, LVIS-style rebalancing): an image whose rarest category is
/// rare is shown more than once per epoch. Per epoch each image appears floor(r) times, plus once more with probability
/// frac(r), and the epoch is shuffled; endless, from one torch generator seeded once.
/// </summary>
public sealed class RepeatFactorTrainingSampler : IEnumerable<int>
{
    readonly float[] _repeatFactors;

    /// <param name="repeatFactors">per record, its repeat factor r &gt;= 0</param>
    public RepeatFactorTrainingSampler(IReadOnlyList<float> repeatFactors, bool shuffle = true, long seed = -1)
    {
        ArgumentNullException.ThrowIfNull(repeatFactors);
        if (repeatFactors.Count == 0) throw new ArgumentException("The sampler needs at least one record.", nameof(repeatFactors));
        _repeatFactors = repeatFactors.ToArray();
        Shuffle = shuffle;
        Seed = seed;
    }

    public IReadOnlyList<float> RepeatFactors => _repeatFactors;

    public bool Shuffle { get; }

    public long Seed { get; }

    /// <summary>
    /// Detectron2's <c>repeat_factors_from_category_frequency</c>: f_c = fraction of images containing category c,
    /// r_c = max(1, sqrt(t / f_c)) (or t / f_c), and an image's factor is the largest r_c of its categories (1 if none).
    /// </summary>
    public static float[] RepeatFactorsFromCategoryFrequency(IReadOnlyList<DatasetRecord> records, double repeatThreshold, bool sqrt = true)
    {
        ArgumentNullException.ThrowIfNull(records);
        var imagesPerCategory = new Dictionary<int, int>();
        foreach (var record in records)
        {
            foreach (var category in record.Annotations.Select(a => a.CategoryId).Distinct())
                imagesPerCategory[category] = imagesPerCategory.GetValueOrDefault(category) + 1;
        }
        var categoryRepeat = imagesPerCategory.ToDictionary(kv => kv.Key, kv =>
        {
            var frequency = (double)kv.Value / records.Count;
            return Math.Max(1.0, sqrt ? Math.Sqrt(repeatThreshold / frequency) : repeatThreshold / frequency);
        });
        return records
            .Select(r => (float)r.Annotations.Select(a => categoryRepeat[a.CategoryId]).DefaultIfEmpty(1.0).Max())
            .ToArray();
    }

    public IEnumerator<int> GetEnumerator()
    {
        using var generator = new Generator(unchecked((ulong)Seed));
        while (true)
        {
            long[] epoch;
            using (var scope = NewDisposeScope())
            {
                // Stochastic rounding of the factors, then one shuffle of the repeated indices, as Detectron2 draws them.
                var factors = tensor(_repeatFactors);
                var integer = factors.trunc();
                var fraction = factors - integer;
                var draws = rand([_repeatFactors.Length], generator: generator);
                var counts = TensorMemory.ToArray<long>(integer.add(draws.lt(fraction).to(ScalarType.Float32), One).to(ScalarType.Int64));
                var indices = new List<long>();
                for (var i = 0; i < counts.Length; i++)
                {
                    for (var k = 0; k < counts[i]; k++) indices.Add(i);
                }
                if (indices.Count == 0) throw new InvalidOperationException("Every repeat factor rounded to 0 in this epoch; factors must be >= 1 for some records.");
                epoch = indices.ToArray();
                if (Shuffle)
                {
                    var permutation = TensorMemory.ToArray<long>(randperm(epoch.Length, generator: generator));
                    epoch = permutation.Select(p => indices[(int)p]).ToArray();
                }
            }
            foreach (var i in epoch) yield return (int)i;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
