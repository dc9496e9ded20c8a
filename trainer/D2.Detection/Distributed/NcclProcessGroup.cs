using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Distributed;

/// <summary>
/// The CUDA backend: NCCL over CUDA tensors, the unique id shared through the rendezvous store (rank 0 creates it).
/// Each worker must see its own GPU as device 0 (the launcher sets CUDA_VISIBLE_DEVICES to the local rank), because
/// NCCL binds the communicator to the current CUDA device. Operations are enqueued on the default stream, which
/// libtorch's kernels use too, so they are ordered with the training step. Not exercised here: this machine has no GPU.
/// </summary>
public sealed class NcclProcessGroup : IProcessGroup
{
    private readonly NcclNative _nccl;
    private readonly IProcessGroup _host;
    private IntPtr _comm;

    private NcclProcessGroup(NcclNative nccl, IntPtr comm, IProcessGroup host, int rank, int worldSize)
    {
        _nccl = nccl;
        _comm = comm;
        _host = host;
        Rank = rank;
        WorldSize = worldSize;
    }

    public int Rank { get; }
    public int WorldSize { get; }
    public string Backend => "nccl";

    /// <param name="host">a CPU group (Gloo) for the byte all-gather and the barrier, as PyTorch keeps one for objects</param>
    public static NcclProcessGroup Create(TcpStore store, IProcessGroup host, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(host);
        var nccl = NcclNative.Load();
        NcclUniqueId id;
        if (host.Rank == 0)
        {
            Check(nccl, nccl.GetUniqueId(out id), host.Rank, "ncclGetUniqueId");
            store.Set("nccl/unique_id", id.ToBytes());
        }
        else
        {
            id = NcclUniqueId.FromBytes(store.Get("nccl/unique_id", timeout));
        }
        Check(nccl, nccl.CommInitRank(out var comm, host.WorldSize, id, host.Rank), host.Rank, "ncclCommInitRank");
        return new NcclProcessGroup(nccl, comm, host, host.Rank, host.WorldSize);
    }

    public void AllReduce(Tensor tensor, ReduceOp op)
    {
        var (pointer, count, type) = Describe(tensor);
        var code = op switch { ReduceOp.Sum => NcclRedOp.Sum, ReduceOp.Avg => NcclRedOp.Avg, ReduceOp.Max => NcclRedOp.Max, ReduceOp.Min => NcclRedOp.Min, _ => throw new ArgumentOutOfRangeException(nameof(op)) };
        Check(_nccl, _nccl.AllReduce(pointer, pointer, count, type, code, _comm, IntPtr.Zero), Rank, "ncclAllReduce");
    }

    public void Broadcast(Tensor tensor, int root = 0)
    {
        var (pointer, count, type) = Describe(tensor);
        Check(_nccl, _nccl.Broadcast(pointer, pointer, count, type, root, _comm, IntPtr.Zero), Rank, "ncclBroadcast");
    }

    public byte[][] AllGather(ReadOnlySpan<byte> data) => _host.AllGather(data);

    public void Barrier() => _host.Barrier();

    private static (IntPtr Pointer, nuint Count, NcclDataType Type) Describe(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.device_type != DeviceType.CUDA || !tensor.is_contiguous())
            throw new ArgumentException($"NCCL takes a contiguous CUDA tensor, not one on {tensor.device}.", nameof(tensor));
        var type = tensor.dtype switch
        {
            ScalarType.Float32 => NcclDataType.Float32,
            ScalarType.Float64 => NcclDataType.Float64,
            ScalarType.Float16 => NcclDataType.Float16,
            ScalarType.BFloat16 => NcclDataType.Bfloat16,
            ScalarType.Int64 => NcclDataType.Int64,
            ScalarType.Int32 => NcclDataType.Int32,
            ScalarType.Byte => NcclDataType.Uint8,
            ScalarType.Int8 => NcclDataType.Int8,
            _ => throw new ArgumentException($"NCCL has no type for {tensor.dtype}.", nameof(tensor)),
        };
        return (TensorData(tensor.Handle), (nuint)tensor.numel(), type);
    }

    [DllImport("LibTorchSharp", EntryPoint = "THSTensor_data")]
    private static extern IntPtr TensorData(IntPtr tensor);

    private static void Check(NcclNative nccl, NcclResult result, int rank, string call)
    {
        if (result != NcclResult.Success)
            throw new CollectiveException($"Rank {rank}: {call} failed: {nccl.Describe(result)} ({result}); a peer probably exited (see its log).");
    }

    public void Dispose()
    {
        if (_comm != IntPtr.Zero)
        {
            _nccl.CommDestroy(_comm);
            _comm = IntPtr.Zero;
        }
    }
}
