using System.Reflection;
using System.Runtime.InteropServices;
using D2.Detection.Distributed;

namespace D2.Detection.Tests.Distributed;

/// <summary>
/// The NCCL binding against nccl.h (NVIDIA/nccl src/nccl.h.in, NCCL 2.x): the C declarations below are copied from the
/// header and each delegate's parameters must map to them one to one. NCCL itself cannot run here (no GPU, no
/// libnccl.so.2), so the calls are checked by signature, and the missing library by its error.
/// </summary>
public class NcclBindingTests
{
    private static readonly Dictionary<string, string> Header = new()
    {
        ["ncclGetVersion"] = "ncclResult_t ncclGetVersion(int *version)",
        ["ncclGetUniqueId"] = "ncclResult_t ncclGetUniqueId(ncclUniqueId* uniqueId)",
        ["ncclCommInitRank"] = "ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId commId, int rank)",
        ["ncclCommDestroy"] = "ncclResult_t ncclCommDestroy(ncclComm_t comm)",
        ["ncclCommAbort"] = "ncclResult_t ncclCommAbort(ncclComm_t comm)",
        ["ncclAllReduce"] = "ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream)",
        ["ncclBroadcast"] = "ncclResult_t ncclBroadcast(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, int root, ncclComm_t comm, cudaStream_t stream)",
        ["ncclAllGather"] = "ncclResult_t ncclAllGather(const void* sendbuff, void* recvbuff, size_t sendcount, ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream)",
        ["ncclGetErrorString"] = "const char* ncclGetErrorString(ncclResult_t result)",
    };

    // How each C type crosses P/Invoke: pointers and handles as IntPtr, size_t as nuint, enums as the matching int enum,
    // the 128-byte id by value, an out-pointer as a by-ref parameter.
    private static readonly Dictionary<string, Type> CTypes = new()
    {
        ["ncclResult_t"] = typeof(NcclResult),
        ["const char*"] = typeof(IntPtr),
        ["int"] = typeof(int),
        ["int*"] = typeof(int).MakeByRefType(),
        ["ncclUniqueId"] = typeof(NcclUniqueId),
        ["ncclUniqueId*"] = typeof(NcclUniqueId).MakeByRefType(),
        ["ncclComm_t"] = typeof(IntPtr),
        ["ncclComm_t*"] = typeof(IntPtr).MakeByRefType(),
        ["const void*"] = typeof(IntPtr),
        ["void*"] = typeof(IntPtr),
        ["size_t"] = typeof(nuint),
        ["ncclDataType_t"] = typeof(NcclDataType),
        ["ncclRedOp_t"] = typeof(NcclRedOp),
        ["cudaStream_t"] = typeof(IntPtr),
    };

    private static (string Return, string[] Parameters) Parse(string declaration)
    {
        var open = declaration.IndexOf('(');
        var head = declaration[..open].Trim();
        var returnType = head[..head.LastIndexOf(' ')].Trim();
        var parameters = declaration[(open + 1)..declaration.LastIndexOf(')')].Split(',').Select(p =>
        {
            var text = p.Trim().Replace(" *", "* ");
            return text[..text.LastIndexOf(' ')].Trim();
        }).ToArray();
        return (returnType, parameters);
    }

    [Test]
    public void Every_bound_function_matches_its_nccl_h_declaration()
    {
        Assert.That(NcclNative.Exports.Values.Order(), Is.EqualTo(Header.Keys.Order()));
        foreach (var (type, export) in NcclNative.Exports)
        {
            var (returnType, parameters) = Parse(Header[export]);
            var invoke = type.GetMethod("Invoke")!;
            Assert.That(invoke.ReturnType, Is.EqualTo(CTypes[returnType]), $"{export} returns {returnType}");
            var actual = invoke.GetParameters();
            Assert.That(actual.Select(p => p.ParameterType), Is.EqualTo(parameters.Select(p => CTypes[p])), $"{export}({string.Join(", ", parameters)})");
            Assert.That(type.GetCustomAttribute<UnmanagedFunctionPointerAttribute>()?.CallingConvention, Is.EqualTo(CallingConvention.Cdecl));
        }
    }

    [Test]
    public void Enum_values_and_the_unique_id_size_are_nccl_h_s()
    {
        // typedef enum { ncclInt8 = 0, ncclUint8 = 1, ncclInt32 = 2, ncclUint32 = 3, ncclInt64 = 4, ncclUint64 = 5,
        //   ncclFloat16 = 6, ncclFloat32 = 7, ncclFloat64 = 8, ncclBfloat16 = 9, ... } ncclDataType_t;
        Assert.That((int)NcclDataType.Int8, Is.EqualTo(0));
        Assert.That((int)NcclDataType.Uint8, Is.EqualTo(1));
        Assert.That((int)NcclDataType.Int32, Is.EqualTo(2));
        Assert.That((int)NcclDataType.Int64, Is.EqualTo(4));
        Assert.That((int)NcclDataType.Float16, Is.EqualTo(6));
        Assert.That((int)NcclDataType.Float32, Is.EqualTo(7));
        Assert.That((int)NcclDataType.Float64, Is.EqualTo(8));
        Assert.That((int)NcclDataType.Bfloat16, Is.EqualTo(9));
        // typedef enum { ncclSum = 0, ncclProd = 1, ncclMax = 2, ncclMin = 3, ncclAvg = 4, ... } ncclRedOp_t;
        Assert.That(Enum.GetValues<NcclRedOp>().Select(v => ((int)v, v.ToString())),
            Is.EqualTo(new[] { (0, "Sum"), (1, "Prod"), (2, "Max"), (3, "Min"), (4, "Avg") }));
        // ncclSuccess = 0 ... ncclTimeout = 8
        Assert.That((int)NcclResult.Success, Is.EqualTo(0));
        Assert.That((int)NcclResult.InvalidUsage, Is.EqualTo(5));
        Assert.That((int)NcclResult.Timeout, Is.EqualTo(8));
        // Enums cross as C ints.
        Assert.That(Enum.GetUnderlyingType(typeof(NcclDataType)), Is.EqualTo(typeof(int)));
        // #define NCCL_UNIQUE_ID_BYTES 128; typedef struct { char internal[NCCL_UNIQUE_ID_BYTES]; } ncclUniqueId;
        Assert.That(Marshal.SizeOf<NcclUniqueId>(), Is.EqualTo(128));
        var bytes = Enumerable.Range(0, 128).Select(i => (byte)i).ToArray();
        Assert.That(NcclUniqueId.FromBytes(bytes).ToBytes(), Is.EqualTo(bytes));
        Assert.Throws<ArgumentException>(() => NcclUniqueId.FromBytes(new byte[64]));
    }

    [Test]
    public void A_host_without_libnccl_fails_up_front_with_the_fix()
    {
        Assume.That(NcclNative.IsAvailable(), Is.False, "this host has NCCL");
        var e = Assert.Throws<DllNotFoundException>(() => NcclNative.Load());
        Assert.That(e!.Message, Does.Contain("libnccl.so.2").And.Contain("apt-get install -y libnccl2"));
        var settings = new DistributedSettings(0, 2, 0, 2, "127.0.0.1", 1, TimeSpan.FromSeconds(1));
        Assert.Throws<DllNotFoundException>(() => DistributedSession.Join(settings, cuda: true).Dispose(), "before any connection attempt (port 1 is closed)");
    }
}
