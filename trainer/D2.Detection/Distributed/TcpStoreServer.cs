using System.Net;
using System.Net.Sockets;
using System.Text;

namespace D2.Detection.Distributed;

/// <summary>
/// The rendezvous key-value store that rank 0 hosts (the role of torch.distributed's TCPStore master): workers set and
/// read keys, wait for keys with a timeout, and count with atomic adds. Values live in memory for the job's lifetime.
/// Each connection is served on its own task; a waiting request holds only its own connection.
/// </summary>
public sealed class TcpStoreServer : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly Dictionary<string, byte[]> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);
    private readonly List<TcpClient> _clients = [];
    private readonly Task _acceptLoop;

    /// <param name="address">the address to listen on (IPAddress.Any for a multi-machine job, loopback in tests)</param>
    /// <param name="port">0 picks a free port (see <see cref="Port"/>)</param>
    /// <exception cref="SocketException">the port is taken (the message names it)</exception>
    public TcpStoreServer(IPAddress address, int port)
    {
        ArgumentNullException.ThrowIfNull(address);
        _listener = new TcpListener(address, port);
        try
        {
            _listener.Start();
        }
        catch (SocketException e)
        {
            throw new SocketException((int)e.SocketErrorCode,
                $"The rendezvous store cannot listen on {address}:{port}: {e.Message} (is another job using --dist-url's port?)");
        }
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            client.NoDelay = true;
            lock (_clients) _clients.Add(client);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var cancel = _stop.Token;
        try
        {
            var op = new byte[1];
            while (!cancel.IsCancellationRequested)
            {
                if (await stream.ReadAsync(op, cancel).ConfigureAwait(false) == 0)
                    return; // the worker closed its connection
                var key = Encoding.UTF8.GetString(await StoreProtocol.ReadBlobAsync(stream, cancel).ConfigureAwait(false));
                using var reply = new MemoryStream();
                switch (op[0])
                {
                    case StoreProtocol.Set:
                        SetValue(key, await StoreProtocol.ReadBlobAsync(stream, cancel).ConfigureAwait(false));
                        reply.WriteByte(StoreProtocol.Ok);
                        break;
                    case StoreProtocol.Get:
                    {
                        var timeout = await StoreProtocol.ReadInt64Async(stream, cancel).ConfigureAwait(false);
                        var value = await WaitForAsync(key, timeout, cancel).ConfigureAwait(false);
                        reply.WriteByte(value is null ? StoreProtocol.TimedOut : StoreProtocol.Ok);
                        if (value is not null) StoreProtocol.WriteBlob(reply, value);
                        break;
                    }
                    case StoreProtocol.Wait:
                    {
                        var timeout = await StoreProtocol.ReadInt64Async(stream, cancel).ConfigureAwait(false);
                        var value = await WaitForAsync(key, timeout, cancel).ConfigureAwait(false);
                        reply.WriteByte(value is null ? StoreProtocol.TimedOut : StoreProtocol.Ok);
                        break;
                    }
                    case StoreProtocol.Add:
                    {
                        var delta = await StoreProtocol.ReadInt64Async(stream, cancel).ConfigureAwait(false);
                        reply.WriteByte(StoreProtocol.Ok);
                        StoreProtocol.WriteInt64(reply, AddValue(key, delta));
                        break;
                    }
                    case StoreProtocol.Check:
                        lock (_gate) reply.WriteByte(_values.ContainsKey(key) ? StoreProtocol.Ok : StoreProtocol.Missing);
                        break;
                    default:
                        reply.WriteByte(StoreProtocol.BadRequest);
                        await stream.WriteAsync(reply.ToArray(), cancel).ConfigureAwait(false);
                        return; // the stream is out of step: drop the connection
                }
                await stream.WriteAsync(reply.ToArray(), cancel).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or InvalidDataException or ObjectDisposedException)
        {
            // A worker went away or sent garbage: its connection ends, the store and the other workers carry on.
        }
        finally
        {
            lock (_clients) _clients.Remove(client);
        }
    }

    private void SetValue(string key, byte[] value)
    {
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            _values[key] = value;
            _waiters.Remove(key, out waiter);
        }
        waiter?.TrySetResult();
    }

    private long AddValue(string key, long delta)
    {
        long result;
        TaskCompletionSource? waiter;
        lock (_gate)
        {
            // Counters are stored as decimal text, as torch's TCPStore does, so get() of a counter reads naturally.
            var current = _values.TryGetValue(key, out var bytes) ? long.Parse(Encoding.ASCII.GetString(bytes), System.Globalization.CultureInfo.InvariantCulture) : 0;
            result = current + delta;
            _values[key] = Encoding.ASCII.GetBytes(result.ToString(System.Globalization.CultureInfo.InvariantCulture));
            _waiters.Remove(key, out waiter);
        }
        waiter?.TrySetResult();
        return result;
    }

    /// <returns>the value, or null when <paramref name="timeoutMs"/> passed first</returns>
    private async Task<byte[]?> WaitForAsync(string key, long timeoutMs, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMilliseconds(Math.Max(0, timeoutMs));
        while (true)
        {
            Task signal;
            lock (_gate)
            {
                if (_values.TryGetValue(key, out var value))
                    return value;
                if (!_waiters.TryGetValue(key, out var waiter))
                    _waiters[key] = waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                signal = waiter.Task;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
                return null;
            try
            {
                await signal.WaitAsync(left, cancel).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return null;
            }
        }
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
            return;
        _stop.Cancel();
        _listener.Stop();
        lock (_clients)
        {
            foreach (var client in _clients)
                client.Dispose();
        }
        try { _acceptLoop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _stop.Dispose();
    }
}
