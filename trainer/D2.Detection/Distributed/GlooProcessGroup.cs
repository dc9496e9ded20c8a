using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using TorchSharp;
using static D2.Detection.TorchScalars;
using static TorchSharp.torch;

namespace D2.Detection.Distributed;

/// <summary>A collective failed (a peer died or timed out); the job cannot continue.</summary>
public sealed class CollectiveException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The CPU backend: Gloo, the collective library PyTorch's ProcessGroupGloo uses, through libd2_gloo_shim.so. Gloo
/// connects every pair of ranks over TCP, exchanging addresses through the rendezvous <see cref="TcpStore"/>; each
/// operation is bounded by the timeout, and a peer that exits closes its connections, so the others fail at once.
/// </summary>
public sealed class GlooProcessGroup : IProcessGroup
{
    private readonly TcpStore _store;
    private readonly string _prefix;
    private readonly GlooNative.StoreSet _set;
    private readonly GlooNative.StoreGet _get;
    private readonly GlooNative.StoreWait _wait;
    private Exception? _callbackError;
    private IntPtr _group;
    private uint _tag;

    private GlooProcessGroup(TcpStore store, int rank, int worldSize, string prefix)
    {
        _store = store;
        Rank = rank;
        WorldSize = worldSize;
        _prefix = prefix;
        _set = OnSet;
        _get = OnGet;
        _wait = OnWait;
    }

    public int Rank { get; }
    public int WorldSize { get; }
    public string Backend => "gloo";

    /// <summary>
    /// Joins the group: blocks until all <paramref name="worldSize"/> ranks have joined (or <paramref name="timeout"/>).
    /// </summary>
    /// <param name="address">this rank's address as its peers reach it; default: GLOO_SOCKET_IFNAME's interface when set,
    /// else the local address of the route to the store's host</param>
    /// <exception cref="CollectiveException">the ranks did not connect (the message names the cause)</exception>
    /// <exception cref="DllNotFoundException">the shim or Gloo is not installed (the message names the package)</exception>
    public static GlooProcessGroup Create(TcpStore store, int rank, int worldSize, TimeSpan timeout, string prefix = "gloo/", string? address = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThan(worldSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, worldSize);
        var group = new GlooProcessGroup(store, rank, worldSize, prefix);
        var iface = address is null ? Environment.GetEnvironmentVariable("GLOO_SOCKET_IFNAME") ?? "" : "";
        var host = address ?? (iface.Length > 0 ? "" : LocalAddressTowards(store.Host));
        int rc;
        IntPtr handle;
        try
        {
            rc = GlooNative.Create(rank, worldSize, host, iface, (long)timeout.TotalMilliseconds, IntPtr.Zero, group._set, group._get, group._wait, out handle);
        }
        catch (DllNotFoundException e)
        {
            throw new DllNotFoundException(
                $"Distributed training on CPU needs {GlooNative.Library} (built with the trainer) and Gloo's runtime: install Debian package libgloo0 (apt-get install -y libgloo0). {e.Message}", e);
        }
        if (rc != 0)
            throw new CollectiveException(
                $"Rank {rank} of {worldSize} could not connect to its peers: {group._callbackError?.Message ?? GlooNative.LastError}", group._callbackError);
        group._group = handle;
        return group;
    }

    /// <summary>The local address the OS would use to reach <paramref name="host"/> (a UDP connect sends nothing).</summary>
    internal static string LocalAddressTowards(string host)
    {
        try
        {
            var target = Dns.GetHostAddresses(host).FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? IPAddress.Loopback;
            if (IPAddress.IsLoopback(target))
                return "127.0.0.1";
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            probe.Connect(target, 9);
            return ((IPEndPoint)probe.LocalEndPoint!).Address.ToString();
        }
        catch (SocketException)
        {
            return Dns.GetHostName();
        }
    }

    public void AllReduce(Tensor tensor, ReduceOp op)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.device_type != DeviceType.CPU || tensor.dtype != ScalarType.Float32 || !tensor.is_contiguous())
            throw new ArgumentException($"Gloo all-reduce takes a contiguous float32 CPU tensor, not {tensor.dtype} on {tensor.device}.", nameof(tensor));
        if (WorldSize == 1 || tensor.numel() == 0)
            return;
        var code = op switch { ReduceOp.Sum or ReduceOp.Avg => 0, ReduceOp.Max => 1, ReduceOp.Min => 2, _ => throw new ArgumentOutOfRangeException(nameof(op)) };
        Check(GlooNative.AllReduceFloat32(Handle, ref MemoryMarshal.GetReference(tensor.bytes), (nuint)tensor.numel(), code, NextTag()), "all-reduce");
        if (op == ReduceOp.Avg)
        {
            using var worldSize = WorldSize.ToScalar();
            tensor.div_(worldSize);
        }
    }

    public void Broadcast(Tensor tensor, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentOutOfRangeException.ThrowIfNegative(root);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(root, WorldSize);
        if (tensor.device_type != DeviceType.CPU || !tensor.is_contiguous())
            throw new ArgumentException($"Gloo broadcast takes a contiguous CPU tensor, not one on {tensor.device}.", nameof(tensor));
        if (WorldSize == 1 || tensor.numel() == 0)
            return;
        var bytes = tensor.bytes;
        Check(GlooNative.Broadcast(Handle, ref MemoryMarshal.GetReference(bytes), (nuint)bytes.Length, root, NextTag()), "broadcast");
    }

    public byte[][] AllGather(ReadOnlySpan<byte> data)
    {
        if (WorldSize == 1)
            return [data.ToArray()];
        // Lengths first (8 bytes from each rank), then the payloads, concatenated in rank order.
        var mine = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(mine, data.Length);
        var lengths = new byte[8 * WorldSize];
        var eights = Enumerable.Repeat((nuint)8, WorldSize).ToArray();
        Check(GlooNative.AllGatherV(Handle, ref mine[0], 8, ref lengths[0], eights, NextTag()), "all-gather");
        var counts = Enumerable.Range(0, WorldSize).Select(r => (nuint)BinaryPrimitives.ReadInt64LittleEndian(lengths.AsSpan(8 * r))).ToArray();
        var total = counts.Aggregate((nuint)0, (a, b) => a + b);
        var result = new byte[WorldSize][];
        if (total == 0)
        {
            for (var r = 0; r < WorldSize; r++) result[r] = [];
            return result;
        }
        var all = new byte[total];
        // Gloo's pairs want a buffer even for an empty contribution.
        var input = data.Length == 0 ? new byte[1] : data.ToArray();
        Check(GlooNative.AllGatherV(Handle, ref input[0], (nuint)data.Length, ref all[0], counts, NextTag()), "all-gather");
        var offset = 0;
        for (var r = 0; r < WorldSize; r++)
        {
            result[r] = all.AsSpan(offset, (int)counts[r]).ToArray();
            offset += (int)counts[r];
        }
        return result;
    }

    public void Barrier()
    {
        if (WorldSize > 1)
            Check(GlooNative.Barrier(Handle, NextTag()), "barrier");
    }

    private IntPtr Handle => _group != IntPtr.Zero ? _group : throw new ObjectDisposedException(nameof(GlooProcessGroup));

    private uint NextTag() => unchecked(++_tag);

    private void Check(int rc, string what)
    {
        if (rc != 0)
            throw new CollectiveException(
                $"Rank {Rank} of {WorldSize}: {what} failed: {GlooNative.LastError} (a peer probably exited or timed out; see its log)");
    }

    private int OnSet(IntPtr user, IntPtr key, IntPtr data, nuint length)
    {
        try
        {
            var value = new byte[(int)length];
            if (length > 0) Marshal.Copy(data, value, 0, (int)length);
            _store.Set(_prefix + Marshal.PtrToStringUTF8(key), value);
            return 0;
        }
        catch (Exception e)
        {
            _callbackError = e;
            return 1;
        }
    }

    private int OnGet(IntPtr user, IntPtr key, out IntPtr data, out nuint length)
    {
        data = IntPtr.Zero;
        length = 0;
        try
        {
            var value = _store.Get(_prefix + Marshal.PtrToStringUTF8(key));
            data = Marshal.AllocHGlobal(Math.Max(1, value.Length)); // malloc on Unix: the shim frees it
            Marshal.Copy(value, 0, data, value.Length);
            length = (nuint)value.Length;
            return 0;
        }
        catch (Exception e)
        {
            _callbackError = e;
            return 1;
        }
    }

    private int OnWait(IntPtr user, IntPtr keys, int count, long timeoutMs)
    {
        try
        {
            var names = new string[count];
            for (var i = 0; i < count; i++)
                names[i] = _prefix + Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(keys, i * IntPtr.Size));
            _store.Wait(names, TimeSpan.FromMilliseconds(timeoutMs));
            return 0;
        }
        catch (Exception e)
        {
            _callbackError = e;
            return 1;
        }
    }

    public void Dispose()
    {
        if (_group != IntPtr.Zero)
        {
            GlooNative.Destroy(_group);
            _group = IntPtr.Zero;
        }
    }
}
