namespace D2.Detection.Data.Loader;

/// <summary>
/// Detectron2's <c>InferenceSampler</c>: every test image exactly once over all ranks, in contiguous shards whose sizes
/// differ by at most one (the first total % world ranks take one more), so that gathering the shards in rank order gives
/// the dataset's order.
/// </summary>
public static class InferenceSampler
{
    /// <returns>[Begin, End) of the indices rank <paramref name="rank"/> evaluates</returns>
    public static (int Begin, int End) LocalRange(int total, int rank, int worldSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        var size = total / worldSize;
        var left = total % worldSize;
        var begin = rank * size + Math.Min(rank, left);
        return (begin, begin + size + (rank < left ? 1 : 0));
    }

    /// <summary>This rank's shard of <paramref name="items"/>.</summary>
    public static IReadOnlyList<T> Shard<T>(IReadOnlyList<T> items, int rank, int worldSize)
    {
        ArgumentNullException.ThrowIfNull(items);
        var (begin, end) = LocalRange(items.Count, rank, worldSize);
        return worldSize == 1 ? items : items.Skip(begin).Take(end - begin).ToList();
    }
}
