namespace D2.Detection.Data.Loader;

/// <summary>
/// Detectron2's <c>AspectRatioGroupedDataset</c> (spec §4): mapped items go to one of two buckets by the original
/// image's orientation (landscape: width &gt; height, else portrait) and a bucket is emitted as a batch the moment it
/// holds <see cref="BatchSize"/> items, so every batch is all landscape or all portrait and pads little.
/// </summary>
public sealed class AspectRatioGrouping<T>
{
    readonly List<T>[] _buckets = [[], []];

    public AspectRatioGrouping(int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        BatchSize = batchSize;
    }

    public int BatchSize { get; }

    /// <summary>0 for landscape (width &gt; height), 1 otherwise (Detectron2's bucket ids).</summary>
    public static int BucketOf(int width, int height) => width > height ? 0 : 1;

    /// <summary>Adds an item of an image <paramref name="width"/> x <paramref name="height"/> (original size).</summary>
    /// <returns>the full bucket as a batch, or null while it is not yet full</returns>
    public IReadOnlyList<T>? Add(T item, int width, int height)
    {
        var bucket = _buckets[BucketOf(width, height)];
        bucket.Add(item);
        if (bucket.Count < BatchSize) return null;
        var batch = bucket.ToArray();
        bucket.Clear();
        return batch;
    }

    /// <summary>Removes and returns the items still waiting in the buckets (e.g. to dispose them at the end).</summary>
    public IReadOnlyList<T> Drain()
    {
        var rest = _buckets.SelectMany(b => b).ToArray();
        foreach (var b in _buckets) b.Clear();
        return rest;
    }
}
