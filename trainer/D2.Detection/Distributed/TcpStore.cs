using System.Net.Sockets;
using System.Text;

namespace D2.Detection.Distributed;

/// <summary>
/// A worker's connection to the rendezvous store on rank 0 (<see cref="TcpStoreServer"/>): torch's TCPStore client
/// API (set, get, add, wait, check), synchronous, every call bounded by <see cref="Timeout"/>. Thread-safe (calls are
/// serialised on the one connection).
/// </summary>
public sealed class TcpStore : IDisposable
{
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly object _gate = new();
    private bool _broken;

    private TcpStore(string host, int port, TcpClient client, TimeSpan timeout)
    {
        Host = host;
        Port = port;
        _client = client;
        _stream = client.GetStream();
        Timeout = timeout;
    }

    public string Host { get; }
    public int Port { get; }

    /// <summary>How long get and wait block for a missing key, and the bound on every reply.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>
    /// Connects to the store at host:port, retrying (the master may start later than this worker, and SageMaker's host
    /// names may not resolve at once) until <paramref name="timeout"/>.
    /// </summary>
    /// <exception cref="TimeoutException">no store answered in time; the message names the address and the last error</exception>
    public static TcpStore Connect(string host, int port, TimeSpan timeout)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        var delay = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            var client = new TcpClient { NoDelay = true };
            try
            {
                using var attempt = new CancellationTokenSource(Clamp(deadline - DateTime.UtcNow));
                client.ConnectAsync(host, port, attempt.Token).AsTask().GetAwaiter().GetResult();
                return new TcpStore(host, port, client, timeout);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                client.Dispose();
                last = e;
            }
            if (DateTime.UtcNow + delay >= deadline)
                throw new TimeoutException(
                    $"Could not reach the rendezvous store at {host}:{port} within {timeout.TotalSeconds:0.#} s " +
                    $"(last error: {last?.Message}). Is rank 0 running, is --dist-url's host reachable from this machine and the port open?", last);
            Thread.Sleep(delay);
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 1000));
        }
    }

    private static TimeSpan Clamp(TimeSpan t) => t < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : t;

    public void Set(string key, ReadOnlySpan<byte> value)
    {
        var request = Request(StoreProtocol.Set, key);
        StoreProtocol.WriteBlob(request, value);
        lock (_gate)
        {
            Send(request);
            ExpectOk(ReadStatus(), "set", key);
        }
    }

    public void Set(string key, string value) => Set(key, Encoding.UTF8.GetBytes(value));

    /// <summary>The value of <paramref name="key"/>, waiting up to <paramref name="timeout"/> (default <see cref="Timeout"/>) for a worker to set it.</summary>
    /// <exception cref="TimeoutException">the key was not set in time</exception>
    public byte[] Get(string key, TimeSpan? timeout = null)
    {
        var wait = timeout ?? Timeout;
        var request = Request(StoreProtocol.Get, key);
        StoreProtocol.WriteInt64(request, (long)wait.TotalMilliseconds);
        lock (_gate)
        {
            Send(request);
            var status = ReadStatus(wait);
            if (status == StoreProtocol.TimedOut)
                throw KeyTimeout(key, wait);
            ExpectOk(status, "get", key);
            return Guard(() => StoreProtocol.ReadBlobAsync(_stream, CancellationToken.None).GetAwaiter().GetResult());
        }
    }

    public string GetString(string key, TimeSpan? timeout = null) => Encoding.UTF8.GetString(Get(key, timeout));

    /// <summary>Atomically adds <paramref name="delta"/> to the counter <paramref name="key"/> (0 when missing) and returns the sum.</summary>
    public long Add(string key, long delta)
    {
        var request = Request(StoreProtocol.Add, key);
        StoreProtocol.WriteInt64(request, delta);
        lock (_gate)
        {
            Send(request);
            ExpectOk(ReadStatus(), "add", key);
            return Guard(() => StoreProtocol.ReadInt64Async(_stream, CancellationToken.None).GetAwaiter().GetResult());
        }
    }

    /// <summary>Waits until every key is set; the timeout covers them all.</summary>
    /// <exception cref="TimeoutException">a key was not set in time (the message names it)</exception>
    public void Wait(IEnumerable<string> keys, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var total = timeout ?? Timeout;
        var deadline = DateTime.UtcNow + total;
        foreach (var key in keys)
        {
            var left = deadline - DateTime.UtcNow;
            if (left < TimeSpan.Zero) left = TimeSpan.Zero;
            var request = Request(StoreProtocol.Wait, key);
            StoreProtocol.WriteInt64(request, (long)left.TotalMilliseconds);
            lock (_gate)
            {
                Send(request);
                var status = ReadStatus(left);
                if (status == StoreProtocol.TimedOut)
                    throw KeyTimeout(key, total);
                ExpectOk(status, "wait", key);
            }
        }
    }

    /// <summary>True when every key is set, without waiting.</summary>
    public bool Check(IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            lock (_gate)
            {
                Send(Request(StoreProtocol.Check, key));
                var status = ReadStatus();
                if (status == StoreProtocol.Missing) return false;
                ExpectOk(status, "check", key);
            }
        }
        return true;
    }

    private static MemoryStream Request(byte op, string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var request = new MemoryStream();
        request.WriteByte(op);
        StoreProtocol.WriteKey(request, key);
        return request;
    }

    private void Send(MemoryStream request)
    {
        if (_broken)
            throw new RendezvousLostException($"The connection to the rendezvous store at {Host}:{Port} was lost earlier; the job cannot continue.");
        Guard(() =>
        {
            _stream.WriteTimeout = (int)Math.Min(int.MaxValue, Timeout.TotalMilliseconds);
            _stream.Write(request.GetBuffer(), 0, (int)request.Length);
            return 0;
        });
    }

    /// <summary>Reads the status byte; a reply must come within the request's own wait plus <see cref="Timeout"/>.</summary>
    private byte ReadStatus(TimeSpan extra = default)
    {
        return Guard(() =>
        {
            _stream.ReadTimeout = (int)Math.Min(int.MaxValue, (Timeout + extra).TotalMilliseconds + 1000);
            var b = _stream.ReadByte();
            if (b < 0)
                throw new RendezvousLostException($"The rendezvous store at {Host}:{Port} closed the connection (rank 0 has probably exited).");
            return (byte)b;
        });
    }

    private T Guard<T>(Func<T> io)
    {
        try
        {
            return io();
        }
        catch (IOException e)
        {
            _broken = true;
            if (e.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut })
                throw new TimeoutException($"The rendezvous store at {Host}:{Port} did not answer in time (rank 0 may be hung or gone).", e);
            throw new RendezvousLostException($"Lost the connection to the rendezvous store at {Host}:{Port} (rank 0 has probably exited): {e.Message}", e);
        }
        catch (Exception e) when (e is SocketException or EndOfStreamException)
        {
            _broken = true;
            throw new RendezvousLostException($"Lost the connection to the rendezvous store at {Host}:{Port} (rank 0 has probably exited): {e.Message}", e);
        }
    }

    private void ExpectOk(byte status, string op, string key)
    {
        if (status != StoreProtocol.Ok)
        {
            _broken = true;
            throw new InvalidDataException($"The rendezvous store at {Host}:{Port} refused {op}('{key}') (status {status}).");
        }
    }

    private TimeoutException KeyTimeout(string key, TimeSpan timeout) =>
        new($"Timed out after {timeout.TotalSeconds:0.#} s waiting for key '{key}' in the rendezvous store at {Host}:{Port}: " +
            "a worker did not arrive (did every rank start, with the same --dist-url and world size?).");

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }
}
