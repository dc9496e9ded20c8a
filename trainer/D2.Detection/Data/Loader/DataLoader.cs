using System.Collections;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.ExceptionServices;
using D2.Detection.Modeling;

namespace D2.Detection.Data.Loader;

/// <summary>
/// Detectron2's training loader (<c>build_batch_data_loader</c>): sampler indices are mapped on background worker
/// threads and grouped into batches (by aspect ratio, or in order). Each sampled item gets a sequence number; workers
/// put their results in the slot of that number and the consumer takes slots strictly in order, so the batches and
/// every augmentation (seeded per sequence number) are the same for a seed whatever the worker count or timing.
/// </summary>
/// <remarks>
/// Workers run at most <see cref="Prefetch"/> items ahead of the consumer. An exception while mapping reaches the
/// consumer, when it gets to that item, as a <see cref="DataMappingException"/> naming the record; the loader is faulted
/// from then on. <see cref="Dispose"/> stops the workers (each finishes at most the item in hand) and frees every
/// mapped item that was not handed out.
/// </remarks>
public sealed class DataLoader : IEnumerable<DataBatch>, IDisposable
{
    readonly IReadOnlyList<DatasetRecord> _records;
    readonly Func<DatasetRecord, Random, ModelInput> _map;
    readonly IEnumerator<int> _sampler;
    readonly AspectRatioGrouping<Item>? _grouping;
    readonly Thread[] _workers;
    readonly object _gate = new();
    readonly Dictionary<long, Item> _ready = [];
    long _nextToClaim;
    long _nextToConsume;
    long _endOfStream = long.MaxValue;
    bool _stopping;
    ExceptionDispatchInfo? _fault;

    /// <param name="records">the dataset; the sampler yields indices into it</param>
    /// <param name="map">record + generator -> model input (e.g. <see cref="DatasetMapper.Map(DatasetRecord, Random)"/>); called on worker threads</param>
    /// <param name="sampler">indices, usually endless (<see cref="TrainingSampler"/>); enumerated once</param>
    /// <param name="batchSize">images per batch (SOLVER.IMS_PER_BATCH)</param>
    /// <param name="aspectRatioGrouping">batch landscape and portrait images separately (DATALOADER.ASPECT_RATIO_GROUPING)</param>
    /// <param name="numWorkers">mapping threads (DATALOADER.NUM_WORKERS); 0 maps on the consumer's thread</param>
    /// <param name="seed">augmentation seed: sample n is mapped with a generator seeded from (seed, n)</param>
    /// <param name="prefetch">how many items workers may map ahead of the consumer (default: two per worker, at least two batches)</param>
    public DataLoader(IReadOnlyList<DatasetRecord> records, Func<DatasetRecord, Random, ModelInput> map, IEnumerable<int> sampler,
        int batchSize, bool aspectRatioGrouping = true, int numWorkers = 0, long seed = 0, int? prefetch = null)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(sampler);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(numWorkers);
        if (records.Count == 0) throw new ArgumentException("The loader has no records to load.", nameof(records));
        _records = records;
        _map = map;
        BatchSize = batchSize;
        Seed = seed;
        Prefetch = prefetch ?? Math.Max(2 * numWorkers, 2 * batchSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(Prefetch, 1, nameof(prefetch));
        _grouping = aspectRatioGrouping ? new AspectRatioGrouping<Item>(batchSize) : null;
        _sampler = sampler.GetEnumerator();
        _workers = new Thread[numWorkers];
        for (var i = 0; i < numWorkers; i++)
        {
            _workers[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"D2 data loader worker {i}" };
            _workers[i].Start();
        }
    }

    public int BatchSize { get; }

    public int NumWorkers => _workers.Length;

    /// <summary>The augmentation seed (log it to reproduce a run).</summary>
    public long Seed { get; }

    public int Prefetch { get; }

    /// <summary>How long the consumer waited for the last batch (Detectron2's data_time).</summary>
    public TimeSpan LastDataTime { get; private set; }

    /// <summary>The next batch; blocks until its items are mapped.</summary>
    /// <exception cref="DataMappingException">mapping one of its records failed</exception>
    /// <exception cref="InvalidOperationException">a finite sampler has run out</exception>
    public DataBatch Next() =>
        TryGetNext(out var batch) ? batch : throw new InvalidOperationException("The sampler is exhausted; no more batches.");

    /// <summary>The next batch, or false once a finite sampler has run out (incomplete batches are dropped, as Detectron2 does).</summary>
    public bool TryGetNext([NotNullWhen(true)] out DataBatch? batch)
    {
        var watch = Stopwatch.StartNew();
        var inOrder = _grouping is null ? new List<Item>(BatchSize) : null;
        try
        {
            while (true)
            {
                if (!TryTake(out var item))
                {
                    DisposeItems(inOrder);
                    batch = null;
                    return false;
                }
                IReadOnlyList<Item>? full;
                if (_grouping is not null)
                {
                    full = _grouping.Add(item, item.Input.Width ?? item.Record.Width, item.Input.Height ?? item.Record.Height);
                }
                else
                {
                    inOrder!.Add(item);
                    full = inOrder.Count == BatchSize ? inOrder : null;
                }
                if (full is null) continue;
                LastDataTime = watch.Elapsed;
                batch = new DataBatch(full.Select(i => i.Input).ToArray(), full.Select(i => i.Record).ToArray(), LastDataTime);
                return true;
            }
        }
        catch
        {
            // The part of a batch taken before the failure would otherwise be lost with its tensors.
            DisposeItems(inOrder);
            throw;
        }
    }

    static void DisposeItems(IEnumerable<Item>? items)
    {
        foreach (var item in items ?? []) DataBatch.DisposeInput(item.Input);
    }

    /// <summary>Batches until a finite sampler runs out (forever with <see cref="TrainingSampler"/>); continues this loader's one stream.</summary>
    public IEnumerator<DataBatch> GetEnumerator()
    {
        while (TryGetNext(out var batch)) yield return batch;
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public void Dispose()
    {
        lock (_gate)
        {
            if (_stopping) return;
            _stopping = true;
            Monitor.PulseAll(_gate);
        }
        // A worker ends after the item in hand; one stuck longer (e.g. on a slow file system) is a background thread
        // that frees its own result when it sees the loader stopped.
        foreach (var worker in _workers) worker.Join(TimeSpan.FromSeconds(30));
        lock (_gate)
        {
            DisposeItems(_ready.Values);
            _ready.Clear();
            _sampler.Dispose();
        }
        DisposeItems(_grouping?.Drain());
    }

    /// <summary>Takes the item with the next sequence number, mapping it here when there are no workers.</summary>
    bool TryTake(out Item item)
    {
        if (_fault is not null) _fault.Throw();
        if (_workers.Length == 0)
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            if (!TryClaim(out var sequence, out var index)) return NoItem(out item);
            item = MapOne(sequence, index);
            _nextToConsume++;
        }
        else
        {
            lock (_gate)
            {
                while (!_ready.ContainsKey(_nextToConsume))
                {
                    ObjectDisposedException.ThrowIf(_stopping, this);
                    if (_nextToConsume >= _endOfStream) return NoItem(out item);
                    Monitor.Wait(_gate);
                }
                ObjectDisposedException.ThrowIf(_stopping, this);
                _ready.Remove(_nextToConsume, out item);
                _nextToConsume++;
                Monitor.PulseAll(_gate);
            }
        }
        if (item.Error is not null)
        {
            _fault = item.Error;
            _fault.Throw();
        }
        return true;
    }

    static bool NoItem(out Item item)
    {
        item = default;
        return false;
    }

    /// <summary>The next sequence number and its sampler index; false at the end of a finite sampler. Call under <see cref="_gate"/> (or with no workers).</summary>
    bool TryClaim(out long sequence, out int index)
    {
        sequence = _nextToClaim;
        index = -1;
        if (_nextToClaim >= _endOfStream) return false;
        if (!_sampler.MoveNext())
        {
            _endOfStream = _nextToClaim;
            return false;
        }
        index = _sampler.Current;
        _nextToClaim++;
        return true;
    }

    void WorkerLoop()
    {
        while (true)
        {
            long sequence;
            int index;
            lock (_gate)
            {
                while (!_stopping && _nextToClaim < _endOfStream && _nextToClaim >= _nextToConsume + Prefetch) Monitor.Wait(_gate);
                if (_stopping) return;
                bool claimed;
                try
                {
                    claimed = TryClaim(out sequence, out index);
                }
                catch (Exception e)
                {
                    // A failing sampler ends the stream here; the consumer sees the error at this position.
                    sequence = _nextToClaim++;
                    _endOfStream = _nextToClaim;
                    _ready[sequence] = new Item(null!, null!, ExceptionDispatchInfo.Capture(
                        new InvalidOperationException($"The sampler failed at item {sequence}: {e.Message}", e)));
                    Monitor.PulseAll(_gate);
                    return;
                }
                if (!claimed)
                {
                    Monitor.PulseAll(_gate);
                    return;
                }
            }
            var item = MapOne(sequence, index);
            lock (_gate)
            {
                if (_stopping)
                {
                    DataBatch.DisposeInput(item.Input);
                    return;
                }
                _ready[sequence] = item;
                Monitor.PulseAll(_gate);
            }
        }
    }

    Item MapOne(long sequence, int index)
    {
        if (index < 0 || index >= _records.Count)
        {
            return new Item(null!, null!, ExceptionDispatchInfo.Capture(new InvalidOperationException(
                $"The sampler gave index {index} at item {sequence}, outside the {_records.Count} records.")));
        }
        var record = _records[index];
        try
        {
            var random = new Random(SampleSeeds.Derive(Seed, sequence));
            return new Item(_map(record, random), record, null);
        }
        catch (Exception e)
        {
            return new Item(null!, record, ExceptionDispatchInfo.Capture(new DataMappingException(record, e)));
        }
    }

    /// <summary>A mapped record, or the error that mapping it raised.</summary>
    readonly record struct Item(ModelInput Input, DatasetRecord Record, ExceptionDispatchInfo? Error);
}
