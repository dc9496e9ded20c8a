namespace D2.Detection.Data.Datasets;

/// <summary>
/// An append-only list stored in chunks below the large-object threshold. A <see cref="List{T}"/> of 860,000
/// annotations grows by copying into ever larger arrays on the large-object heap (~150 MB of garbage, and each such
/// allocation may start a full collection over the records being built); chunks are never copied.
/// </summary>
internal sealed class ChunkedList<T> where T : struct
{
    // 512 entries of up to ~100 bytes stay under the 85,000-byte large-object threshold.
    const int ChunkSize = 512;

    readonly List<T[]> _chunks = [];
    int _lastCount = ChunkSize;

    public int Count { get; private set; }

    public void Add(in T item)
    {
        if (_lastCount == ChunkSize)
        {
            _chunks.Add(new T[ChunkSize]);
            _lastCount = 0;
        }
        _chunks[^1][_lastCount++] = item;
        Count++;
    }

    public void AddRange(ChunkedList<T> other)
    {
        foreach (var chunk in other.Chunks())
            foreach (ref readonly var item in chunk.Span)
                Add(item);
    }

    /// <summary>The items in order, one span per chunk.</summary>
    public IEnumerable<ReadOnlyMemory<T>> Chunks()
    {
        for (var i = 0; i < _chunks.Count; i++)
            yield return _chunks[i].AsMemory(0, i == _chunks.Count - 1 ? _lastCount : ChunkSize);
    }
}
