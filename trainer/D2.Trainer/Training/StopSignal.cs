using System.Runtime.InteropServices;

namespace D2.Trainer.Training;

/// <summary>
/// Turns SIGTERM (SageMaker's StopTrainingJob, MaxRuntimeInSeconds, a spot interruption: SIGKILL follows 120 s later)
/// and the first SIGINT (Ctrl+C) into a cancellation, so training checkpoints after the current iteration instead of
/// dying mid-write. A second SIGINT terminates at once.
/// </summary>
internal sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly TextWriter _log;

    public StopSignal(TextWriter log)
    {
        _log = log;
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle));
        _registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle));
    }

    public CancellationToken Token => _source.Token;

    /// <summary>The signal that requested the stop, or null.</summary>
    public PosixSignal? Received { get; private set; }

    private void Handle(PosixSignalContext context)
    {
        if (_source.IsCancellationRequested && context.Signal == PosixSignal.SIGINT)
            return; // second Ctrl+C: default handling ends the process
        context.Cancel = true;
        if (_source.IsCancellationRequested)
            return;
        Received = context.Signal;
        _log.WriteLine($"Received {context.Signal}: finishing the current step, then saving a checkpoint and the model.");
        _log.Flush();
        _source.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
            registration.Dispose();
        _source.Dispose();
    }
}
