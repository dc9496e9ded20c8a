using System.Collections.Concurrent;
using System.Management.Automation;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using D2.Operations.Steps;

namespace D2.MLOps;

/// <summary>
/// The base of every D2 cmdlet: runs one asynchronous operation on the pipeline thread (progress and verbose messages
/// are written from here; StopProcessing — Ctrl+C — cancels the operation, never the remote job) and turns the
/// operations' exceptions into ErrorRecords with a category, the target and a recommended action.
/// </summary>
public abstract class D2Cmdlet : PSCmdlet, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<Action> _messages = new();

    protected internal CancellationToken StopToken => _stopping.Token;

    protected override void StopProcessing() => _stopping.Cancel();

    /// <summary>Runs <paramref name="operation"/>, pumping its messages, and returns its result (or throws the error record).</summary>
    protected internal T Run<T>(Func<CancellationToken, Task<T>> operation, object? target, CancellationToken? token = null)
    {
        var task = Task.Run(() => operation(token ?? StopToken));
        // Not task.Wait: it throws the AggregateException of a failed task; the error is unwrapped below.
        while (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(100))
        {
            Pump();
        }

        Pump();
        return task.IsCompletedSuccessfully ? task.Result
            : throw Failure(task.IsCanceled ? new OperationCanceledException() : task.Exception!.GetBaseException(), target);
    }

    protected internal void Run(Func<CancellationToken, Task> operation, object? target) =>
        Run(async token => { await operation(token).ConfigureAwait(false); return true; }, target);

    /// <summary>A progress sink that the operation may call from any thread; written on the pipeline thread.</summary>
    protected internal IProgress<T> Progress<T>(Func<T, ProgressRecord> record) => new Sink<T>(this, value => WriteProgress(record(value)));

    protected internal IProgress<T> Verbose<T>(Func<T, string> message) => new Sink<T>(this, value => WriteVerbose(message(value)));

    private void Pump()
    {
        while (_messages.TryDequeue(out var message))
        {
            message();
        }
    }

    private Exception Failure(Exception error, object? target)
    {
        if (error is OperationCanceledException && StopToken.IsCancellationRequested)
        {
            return new PipelineStoppedException();
        }

        return new RuntimeException(error.Message, error, ErrorRecordFor(error, target));
    }

    /// <summary>The ErrorRecord of an operation's exception: category, target, recommended action and the parameter at fault.</summary>
    protected internal ErrorRecord ErrorRecordFor(Exception error, object? target)
    {
        var kind = OperationErrors.Classify(error);
        var category = kind switch
        {
            OperationErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
            OperationErrorKind.NotFound => ErrorCategory.ObjectNotFound,
            OperationErrorKind.InUse => ErrorCategory.ResourceBusy,
            OperationErrorKind.LimitExceeded => ErrorCategory.LimitsExceeded,
            OperationErrorKind.Authentication => ErrorCategory.AuthenticationError,
            OperationErrorKind.Timeout => ErrorCategory.OperationTimeout,
            OperationErrorKind.ResourceFailed => ErrorCategory.InvalidResult,
            OperationErrorKind.Cancelled => ErrorCategory.OperationStopped,
            _ => ErrorCategory.NotSpecified,
        };
        var message = error.Message;
        var parameters = OperationErrors.Members(error)
            .Select(member => MyInvocation.MyCommand.Parameters.Keys.FirstOrDefault(p => string.Equals(p, member, StringComparison.OrdinalIgnoreCase)))
            .OfType<string>()
            .ToList();
        if (parameters.Count > 0)
        {
            message = $"Parameter {string.Join(", ", parameters.Select(p => "-" + p))}: {message}";
        }

        return new ErrorRecord(error, $"{kind},{MyInvocation.MyCommand.Name}", category, target)
        {
            ErrorDetails = new ErrorDetails(message) { RecommendedAction = OperationErrors.RecommendedAction(kind) },
        };
    }

    public void Dispose()
    {
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    private sealed class Sink<T>(D2Cmdlet owner, Action<T> write) : IProgress<T>
    {
        public void Report(T value) => owner._messages.Enqueue(() => write(value));
    }
}
