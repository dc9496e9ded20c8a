namespace D2.Detection.Distributed;

/// <summary>
/// A rank that failed only because another rank went away (its collective or the rendezvous saw the closed connection)
/// is a symptom, not the cause. Such a worker exits with <see cref="ExitCode"/>, so that its supervisor (and the local
/// SageMaker, across hosts) can report the rank that failed first for its own reason: the one killed, out of memory, or
/// with the exception.
/// </summary>
public static class PeerLoss
{
    /// <summary>The exit code of a worker whose failure a peer caused (0 done, 1 algorithm error, 2 bad input, 130 stopped).</summary>
    public const int ExitCode = 3;

    /// <summary>Whether <paramref name="e"/> (or an exception it wraps) is a collective or rendezvous failure.</summary>
    public static bool Caused(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is CollectiveException or RendezvousLostException)
                return true;
            if (x is AggregateException aggregate && aggregate.InnerExceptions.Any(Caused))
                return true;
        }
        return false;
    }
}

/// <summary>The connection to the rendezvous store broke: rank 0's machine (which hosts it) has probably exited.</summary>
public sealed class RendezvousLostException(string message, Exception? inner = null) : IOException(message, inner);
