namespace D2.Detection.Distributed;

/// <summary>
/// Detectron2's per-rank view of a training sampler: <c>itertools.islice(indices, rank, None, world_size)</c>. Every
/// rank enumerates the same stream (one shared seed) and keeps every world_size-th index from its own offset, so the
/// ranks' batches together are the batch one process would take with the total SOLVER.IMS_PER_BATCH.
/// </summary>
public sealed class RankShard(IEnumerable<int> indices, int rank, int worldSize) : IEnumerable<int>
{
    private readonly IEnumerable<int> _indices = indices ?? throw new ArgumentNullException(nameof(indices));

    public int Rank { get; } = rank >= 0 && rank < worldSize ? rank : throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize}).");
    public int WorldSize { get; } = worldSize;

    public IEnumerator<int> GetEnumerator()
    {
        var position = 0;
        foreach (var index in _indices)
        {
            if (position++ % WorldSize == Rank)
                yield return index;
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
