using System.Diagnostics;
using D2.Detection.Inference;
using D2.Detection.Modeling;
using D2.Detection.Structures;

namespace D2.Serving;

/// <summary>What the model thread hands back for one image: its Instances (the receiver disposes them) and when it ran.</summary>
/// <param name="QueueSeconds">from queuing to the start of its forward pass</param>
/// <param name="ModelSeconds">its (batched) forward pass</param>
/// <param name="FinishedTimestamp">Stopwatch timestamp at the end of the pass (the receiver measures its own wake-up)</param>
internal sealed record ModelResult(Instances Instances, int BatchSize, double QueueSeconds, double ModelSeconds, long FinishedTimestamp);

/// <summary>
/// The one gate in front of the model, and dynamic batching as TorchServe does it: one dedicated thread takes the first
/// waiting image, collects up to <see cref="ServingOptions.MaxBatchSize"/> images arriving within
/// <see cref="ServingOptions.MaxBatchDelayMilliseconds"/>, and runs them as batched forward passes, one pass at a time
/// (libtorch already spreads one pass over every core). The thread is always the same one and runs the warm-up: libtorch's
/// OpenMP team and per-thread caches belong to the calling thread, so passes hopping between thread-pool threads would
/// pay for new teams, and a blocking pass would hold a pool thread Kestrel needs. Images are grouped by the shape the
/// model pads them to, so a batch never changes an image's padding. Work whose request has given up (deadline, client
/// gone) is dropped before its pass, and a pass stops between model stages once every request in it has given up.
/// When nothing waits for the model, the pass's last request resumes on this thread (encodes and writes its answer)
/// instead of waking a thread-pool thread that slept through the pass (the resume hop 0.1 -> 0.02 ms on a 2-core machine);
/// with work waiting, every request resumes on the pool and the next pass starts at once.
/// </summary>
internal sealed class ModelBatcher : IDisposable
{
    readonly Predictor _predictor;
    readonly ServingOptions _options;
    readonly ILogger _log;
    readonly Queue<WorkItem> _queue = new();
    readonly object _gate = new(); // Monitor.Wait/Pulse need a monitor, not a System.Threading.Lock
    readonly Thread _thread;
    bool _completed;

    public ModelBatcher(Predictor predictor, ServingOptions options, ILogger<ModelBatcher> log)
    {
        _predictor = predictor;
        _options = options;
        _log = log;
        using var ready = new ManualResetEventSlim();
        Exception? warmUpFailure = null;
        _thread = new Thread(() =>
        {
            try
            {
                predictor.WarmUp();
                ServingMetrics.TorchThreads.Set(TorchSharp.torch.get_num_threads());
            }
            catch (Exception e)
            {
                warmUpFailure = e;
                ready.Set();
                return;
            }
            ready.Set();
            Loop();
        })
        { IsBackground = true, Name = "D2 model" };
        _thread.Start();
        // Before the port opens: /ping answers only once predictions are fast.
        ready.Wait();
        if (warmUpFailure is not null)
            throw new InvalidOperationException($"The model's warm-up pass failed: {warmUpFailure.Message}", warmUpFailure);
    }

    sealed record WorkItem(PreprocessedImage Input, CancellationToken Cancellation, TaskCompletionSource<ModelResult> Result, long Queued);

    /// <summary>Queues one preprocessed image, which the batcher then owns (and disposes); the task ends with its result
    /// (the caller disposes the Instances, also when it stopped waiting), or cancelled.</summary>
    public Task<ModelResult> PredictAsync(PreprocessedImage input, CancellationToken cancellationToken)
    {
        // Continuations run where the task is completed: Finish chooses between the model thread and the pool.
        var item = new WorkItem(input, cancellationToken, new TaskCompletionSource<ModelResult>(), Stopwatch.GetTimestamp());
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            _queue.Enqueue(item);
            Monitor.Pulse(_gate);
        }
        ServingMetrics.QueuedImages.Inc();
        return item.Result.Task;
    }

    void Loop()
    {
        var batch = new List<WorkItem>();
        while (true)
        {
            batch.Clear();
            lock (_gate)
            {
                while (_queue.Count == 0 && !_completed)
                    Monitor.Wait(_gate);
                if (_queue.Count == 0)
                    return;
                // Collect for at most D2_MAX_BATCH_DELAY_MS after the first image, or until the batch is full.
                var first = Stopwatch.GetTimestamp();
                while (batch.Count < _options.MaxBatchSize)
                {
                    if (_queue.TryDequeue(out var item))
                    {
                        if (item.Cancellation.IsCancellationRequested)
                            Drop(item);
                        else
                            batch.Add(item);
                        continue;
                    }
                    var remaining = _options.MaxBatchDelayMilliseconds - Stopwatch.GetElapsedTime(first).TotalMilliseconds;
                    if (batch.Count == 0 && !_completed)
                    {
                        Monitor.Wait(_gate);
                        first = Stopwatch.GetTimestamp();
                        continue;
                    }
                    if (_options.MaxBatchSize == 1 || remaining <= 0 || _completed)
                        break;
                    Monitor.Wait(_gate, TimeSpan.FromMilliseconds(remaining));
                }
            }
            if (batch.Count == 0)
                continue;
            foreach (var group in batch.GroupBy(i => _predictor.PaddedShape(i.Input)))
                Run(group.ToList());
        }
    }

    void Run(List<WorkItem> group)
    {
        group.RemoveAll(i =>
        {
            if (!i.Cancellation.IsCancellationRequested)
                return false;
            Drop(i);
            return true;
        });
        if (group.Count == 0)
            return;
        // The pass stops between model stages once every request in it has given up; one that still waits keeps it going.
        using var everyoneGaveUp = new CancellationTokenSource();
        var waiting = group.Count;
        var registrations = group.Select(i => i.Cancellation.Register(() =>
        {
            if (Interlocked.Decrement(ref waiting) == 0)
                everyoneGaveUp.Cancel();
        })).ToList();
        var start = Stopwatch.GetTimestamp();
        try
        {
            var outputs = _predictor.PredictBatch(group.Select(i => i.Input).ToList(), everyoneGaveUp.Token,
                stage => ServingMetrics.ModelStages.WithLabels(ServingMetrics.Label(stage)).Inc());
            var end = Stopwatch.GetTimestamp();
            var modelSeconds = Stopwatch.GetElapsedTime(start, end).TotalSeconds;
            ServingMetrics.ModelSeconds.Observe(modelSeconds);
            ServingMetrics.BatchSize.Observe(group.Count);
            bool idle;
            lock (_gate)
                idle = _queue.Count == 0;
            for (var i = 0; i < group.Count; i++)
            {
                var result = new ModelResult(outputs[i], group.Count, Stopwatch.GetElapsedTime(group[i].Queued, start).TotalSeconds, modelSeconds, end);
                Finish(group[i], inline: idle && i == group.Count - 1, tcs =>
                {
                    if (!tcs.TrySetResult(result))
                        result.Instances.Dispose();
                });
            }
        }
        catch (OperationCanceledException e)
        {
            if (e is InferenceCancelledException stopped)
            {
                ServingMetrics.ModelCancelled.WithLabels(ServingMetrics.Label(stopped.CompletedStage)).Inc();
                ServingMetrics.ModelCancelledImages.Inc(group.Count);
            }
            else
            {
                ServingMetrics.Dropped.Inc(group.Count); // between the last check and the pass
            }
            group.ForEach(i => Finish(i, inline: false, tcs => tcs.TrySetCanceled(i.Cancellation)));
        }
        catch (Exception e)
        {
            _log.LogError(e, "The forward pass of {Count} images failed", group.Count);
            group.ForEach(i => Finish(i, inline: false, tcs => tcs.TrySetException(e)));
        }
        finally
        {
            // Waits for a callback that is running, so none touches the source after it is disposed.
            registrations.ForEach(r => r.Dispose());
            group.ForEach(i => i.Input.Dispose());
        }
    }

    static void Drop(WorkItem item)
    {
        ServingMetrics.Dropped.Inc();
        item.Input.Dispose();
        // On the pool: Drop runs under the queue's lock, which no request's continuation may run under.
        Finish(item, inline: false, tcs => tcs.TrySetCanceled(item.Cancellation));
    }

    /// <summary>Completes <paramref name="item"/>'s task: the request's continuation then runs on this thread when
    /// <paramref name="inline"/> (it encodes and writes its answer here), else on the thread pool.</summary>
    static void Finish(WorkItem item, bool inline, Action<TaskCompletionSource<ModelResult>> complete)
    {
        if (inline)
            complete(item.Result);
        else
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.Complete(state.Result), (Complete: complete, item.Result), preferLocal: false);
    }

    /// <summary>Stops taking work, lets the thread finish what is queued, and waits up to <paramref name="timeout"/> for it.</summary>
    public bool Complete(TimeSpan timeout)
    {
        lock (_gate)
        {
            _completed = true;
            Monitor.PulseAll(_gate);
        }
        return _thread.Join(timeout);
    }

    public void Dispose() => Complete(TimeSpan.FromSeconds(5));
}
