using System.Runtime.InteropServices;

namespace D2.Detection.Distributed;

/// <summary>nccl.h's ncclResult_t.</summary>
public enum NcclResult
{
    Success = 0,
    UnhandledCudaError = 1,
    SystemError = 2,
    InternalError = 3,
    InvalidArgument = 4,
    InvalidUsage = 5,
    RemoteError = 6,
    InProgress = 7,
    Timeout = 8,
}

/// <summary>nccl.h's ncclDataType_t (the values this trainer uses).</summary>
public enum NcclDataType
{
    Int8 = 0,
    Uint8 = 1,
    Int32 = 2,
    Uint32 = 3,
    Int64 = 4,
    Uint64 = 5,
    Float16 = 6,
    Float32 = 7,
    Float64 = 8,
    Bfloat16 = 9,
}

/// <summary>nccl.h's built-in ncclRedOp_t values.</summary>
public enum NcclRedOp
{
    Sum = 0,
    Prod = 1,
    Max = 2,
    Min = 3,
    Avg = 4,
}

/// <summary>nccl.h's ncclUniqueId: 128 opaque bytes, passed by value to ncclCommInitRank.</summary>
[StructLayout(LayoutKind.Explicit, Size = Bytes)]
public struct NcclUniqueId
{
    /// <summary>NCCL_UNIQUE_ID_BYTES.</summary>
    public const int Bytes = 128;

    [FieldOffset(0)]
    private long _head;

    public static NcclUniqueId FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Bytes)
            throw new ArgumentException($"An NCCL unique id has {Bytes} bytes, not {bytes.Length}.", nameof(bytes));
        var id = default(NcclUniqueId);
        bytes.CopyTo(MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref id, 1)));
        return id;
    }

    public readonly byte[] ToBytes()
    {
        var copy = this;
        return MemoryMarshal.AsBytes(MemoryMarshal.CreateSpan(ref copy, 1)).ToArray();
    }
}

/// <summary>
/// NCCL's C API (nccl.h), bound lazily: libnccl.so.2 is loaded on first use, so CPU hosts never need it, and a CUDA job
/// on a host without it fails before training with the fix (<see cref="Load"/>). The GPU images install NCCL from
/// NVIDIA's CUDA apt repository (PyTorch links it statically, so libtorch brings none).
/// </summary>
public sealed class NcclNative
{
    public const string LibraryName = "libnccl.so.2";

    // Signatures as in nccl.h; ncclComm_t and cudaStream_t are pointers, size_t is nuint, enums are C ints.
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate NcclResult GetVersionFn(out int version);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate NcclResult GetUniqueIdFn(out NcclUniqueId uniqueId);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate NcclResult CommInitRankFn(out IntPtr comm, int nranks, NcclUniqueId commId, int rank);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate NcclResult CommDestroyFn(IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate NcclResult CommAbortFn(IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate NcclResult AllReduceFn(IntPtr sendbuff, IntPtr recvbuff, nuint count, NcclDataType datatype, NcclRedOp op, IntPtr comm, IntPtr stream);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate NcclResult BroadcastFn(IntPtr sendbuff, IntPtr recvbuff, nuint count, NcclDataType datatype, int root, IntPtr comm, IntPtr stream);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate NcclResult AllGatherFn(IntPtr sendbuff, IntPtr recvbuff, nuint sendcount, NcclDataType datatype, IntPtr comm, IntPtr stream);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    public delegate IntPtr GetErrorStringFn(NcclResult result);

    /// <summary>The C function each delegate binds, for the signature test and the loader.</summary>
    public static readonly IReadOnlyDictionary<Type, string> Exports = new Dictionary<Type, string>
    {
        [typeof(GetVersionFn)] = "ncclGetVersion",
        [typeof(GetUniqueIdFn)] = "ncclGetUniqueId",
        [typeof(CommInitRankFn)] = "ncclCommInitRank",
        [typeof(CommDestroyFn)] = "ncclCommDestroy",
        [typeof(CommAbortFn)] = "ncclCommAbort",
        [typeof(AllReduceFn)] = "ncclAllReduce",
        [typeof(BroadcastFn)] = "ncclBroadcast",
        [typeof(AllGatherFn)] = "ncclAllGather",
        [typeof(GetErrorStringFn)] = "ncclGetErrorString",
    };

    private static readonly Lock Gate = new();
    private static NcclNative? _loaded;

    private NcclNative(IntPtr library)
    {
        GetVersion = Bind<GetVersionFn>(library);
        GetUniqueId = Bind<GetUniqueIdFn>(library);
        CommInitRank = Bind<CommInitRankFn>(library);
        CommDestroy = Bind<CommDestroyFn>(library);
        CommAbort = Bind<CommAbortFn>(library);
        AllReduce = Bind<AllReduceFn>(library);
        Broadcast = Bind<BroadcastFn>(library);
        AllGather = Bind<AllGatherFn>(library);
        GetErrorString = Bind<GetErrorStringFn>(library);
    }

    public GetVersionFn GetVersion { get; }
    public GetUniqueIdFn GetUniqueId { get; }
    public CommInitRankFn CommInitRank { get; }
    public CommDestroyFn CommDestroy { get; }
    public CommAbortFn CommAbort { get; }
    public AllReduceFn AllReduce { get; }
    public BroadcastFn Broadcast { get; }
    public AllGatherFn AllGather { get; }
    public GetErrorStringFn GetErrorString { get; }

    /// <summary>Loads libnccl.so.2 once.</summary>
    /// <exception cref="DllNotFoundException">NCCL is not installed; the message says how to install it</exception>
    public static NcclNative Load(string libraryName = LibraryName)
    {
        lock (Gate)
        {
            if (_loaded is not null)
                return _loaded;
            if (!NativeLibrary.TryLoad(libraryName, out var handle))
                throw new DllNotFoundException(
                    $"Distributed training on CUDA needs NCCL ({libraryName}), which this host lacks. Install it from NVIDIA's CUDA apt " +
                    "repository (apt-get install -y libnccl2, matching the CUDA version), or train on CPU (MODEL.DEVICE cpu) with Gloo.");
            return _loaded = new NcclNative(handle);
        }
    }

    /// <summary>True when libnccl.so.2 loads here (no exception).</summary>
    public static bool IsAvailable(string libraryName = LibraryName)
    {
        if (!NativeLibrary.TryLoad(libraryName, out var handle))
            return false;
        NativeLibrary.Free(handle);
        return true;
    }

    /// <summary>ncclGetErrorString's text for a result.</summary>
    public string Describe(NcclResult result) => Marshal.PtrToStringUTF8(GetErrorString(result)) ?? result.ToString();

    private static T Bind<T>(IntPtr library) where T : Delegate
    {
        var name = Exports[typeof(T)];
        if (!NativeLibrary.TryGetExport(library, name, out var address))
            throw new EntryPointNotFoundException($"{LibraryName} does not export {name}: NCCL 2.10 or newer is needed (ncclAvg).");
        return Marshal.GetDelegateForFunctionPointer<T>(address);
    }
}
