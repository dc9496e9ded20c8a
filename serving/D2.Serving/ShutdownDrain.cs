namespace D2.Serving;

/// <summary>
/// SIGTERM (docker stop, an endpoint update or scale-in; SIGKILL follows 30 s later): Kestrel stops accepting and in-flight
/// requests run on for up to <see cref="ServingOptions.DrainSeconds"/>; <see cref="Expired"/> then ends the ones still
/// running, which answer 503 with a JSON reason (their work is dropped between model stages) instead of being cut off
/// when the host stops waiting, and the process exits 0 before the SIGKILL.
/// </summary>
internal sealed class ShutdownDrain : IDisposable
{
    readonly CancellationTokenSource _expired = new();
    readonly CancellationTokenRegistration _stopping;

    public ShutdownDrain(IHostApplicationLifetime lifetime, ServingOptions options)
    {
        Seconds = options.DrainSeconds;
        _stopping = lifetime.ApplicationStopping.Register(() => _expired.CancelAfter(TimeSpan.FromSeconds(Seconds)));
    }

    public double Seconds { get; }

    /// <summary>Cancelled once the drain window after SIGTERM has passed.</summary>
    public CancellationToken Expired => _expired.Token;

    public void Dispose()
    {
        _stopping.Dispose();
        _expired.Dispose();
    }
}
