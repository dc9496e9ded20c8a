using System.Diagnostics;
using System.Threading.Channels;
using D2.Detection.Inference;
using D2.Detection.Structures;

namespace D2.Serving;

/// <summary>
/// The one gate in front of the model, and dynamic batching as TorchServe does it: a single loop takes the first waiting
/// image, collects up to <see cref="ServingOptions.MaxBatchSize"/> images arriving within
/// <see cref="ServingOptions.MaxBatchDelayMilliseconds"/>, and runs them as batched forward passes, one pass at a time
/// (libtorch already spreads one pass over every core). Images are grouped by the shape the model pads them to, so a
/// batch never changes an image's padding and every image gets what it would alone. Work whose request has given up
/// (deadline, client gone) is dropped before the forward pass.
/// </summary>
internal sealed class ModelBatcher : IAsyncDisposable
{
    readonly Predictor predictor;
    readonly ServingOptions options;
    readonly ILogger log;
    readonly Channel<WorkItem> channel = Channel.CreateUnbounded<WorkItem>(new UnboundedChannelOptions { SingleReader = true });
    readonly Task loop;

    public ModelBatcher(Predictor predictor, ServingOptions options, ILogger<ModelBatcher> log)
    {
        this.predictor = predictor;
        this.options = options;
        this.log = log;
        loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    sealed record WorkItem(PreprocessedImage Input, CancellationToken Cancellation, TaskCompletionSource<Instances> Result);

    /// <summary>Queues one preprocessed image, which the batcher then owns (and disposes); the task ends with its Instances
    /// (the caller disposes them, also when it stopped waiting), or cancelled.</summary>
    public Task<Instances> PredictAsync(PreprocessedImage input, CancellationToken cancellationToken)
    {
        var item = new WorkItem(input, cancellationToken, new TaskCompletionSource<Instances>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!channel.Writer.TryWrite(item))
            throw new ObjectDisposedException(nameof(ModelBatcher));
        return item.Result.Task;
    }

    async Task RunAsync()
    {
        var reader = channel.Reader;
        var batch = new List<WorkItem>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            var deadline = Stopwatch.StartNew();
            while (batch.Count < options.MaxBatchSize)
            {
                if (reader.TryRead(out var item))
                {
                    if (item.Cancellation.IsCancellationRequested)
                        Drop(item);
                    else
                        batch.Add(item);
                    continue;
                }
                var remaining = options.MaxBatchDelayMilliseconds - deadline.Elapsed.TotalMilliseconds;
                if (batch.Count == 0 || options.MaxBatchSize == 1 || remaining <= 0)
                {
                    if (batch.Count > 0)
                        break;
                    if (!await reader.WaitToReadAsync().ConfigureAwait(false))
                        break;
                    continue;
                }
                using var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(remaining));
                try
                {
                    if (!await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false))
                        break;
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            foreach (var group in batch.GroupBy(i => predictor.PaddedShape(i.Input)))
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
        // A lone image's forward pass is dropped between stages when its request gives up; a shared pass runs for the others.
        var token = group.Count == 1 ? group[0].Cancellation : CancellationToken.None;
        var clock = Stopwatch.StartNew();
        try
        {
            var outputs = predictor.PredictBatch(group.Select(i => i.Input).ToList(), token);
            ServingMetrics.ModelSeconds.Observe(clock.Elapsed.TotalSeconds);
            ServingMetrics.BatchSize.Observe(group.Count);
            for (var i = 0; i < group.Count; i++)
                if (!group[i].Result.TrySetResult(outputs[i]))
                    outputs[i].Dispose();
        }
        catch (OperationCanceledException e)
        {
            group.ForEach(i => i.Result.TrySetCanceled(e.CancellationToken));
        }
        catch (Exception e)
        {
            log.LogError(e, "The forward pass of {Count} images failed", group.Count);
            group.ForEach(i => i.Result.TrySetException(e));
        }
        finally
        {
            group.ForEach(i => i.Input.Dispose());
        }
    }

    static void Drop(WorkItem item)
    {
        item.Input.Dispose();
        item.Result.TrySetCanceled(item.Cancellation);
    }

    public async ValueTask DisposeAsync()
    {
        channel.Writer.TryComplete();
        await loop.ConfigureAwait(false);
    }
}
