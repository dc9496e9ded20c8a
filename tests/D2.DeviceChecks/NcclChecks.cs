using System.Net;
using D2.Detection.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.DeviceChecks;

/// <summary>
/// The trainer's NCCL binding (<see cref="NcclNative"/>) against a real libnccl.so.2 on CUDA device memory: every bound
/// call, the 128-byte unique id passed by value, in-place and out-of-place buffers, error codes; then
/// <see cref="NcclProcessGroup"/> on CUDA tensors, its unique id shared through the rendezvous store.
/// </summary>
internal static class NcclChecks
{
    const int N = 4099;

    public static void Run(CheckReport report)
    {
        var cudaRuntime = CudaRuntime.Load();
        var devices = cudaRuntime.DeviceCount();
        report.Add("cuda", devices > 0, $"{cudaRuntime.LibraryName}, {devices} device(s)");
        cudaRuntime.SetDevice(0);

        var nccl = NcclNative.Load();
        var versionResult = nccl.GetVersion(out var version);
        report.Add("ncclGetVersion", versionResult == NcclResult.Success && version >= 21000,
            $"{version / 10000}.{version / 100 % 100}.{version % 100} (code {version}; ncclAvg needs >= 2.10)");
        report.Add("ncclGetUniqueId", nccl.GetUniqueId(out var id) == NcclResult.Success && id.ToBytes().Any(b => b != 0), "128 bytes, not all zero");
        report.Add("unique id round trip", NcclUniqueId.FromBytes(id.ToBytes()).ToBytes().SequenceEqual(id.ToBytes()), "FromBytes(ToBytes(id)) == id");

        OneRank(report, nccl, cudaRuntime, id);
        TwoRanksOnOneGpu(report, nccl, cudaRuntime);
        report.Run("NcclProcessGroup on CUDA tensors (world 1, id through the TCP store)", ProcessGroup);
    }

    // One rank: every collective is then a copy, so the result must equal the input, in place and out of place.
    static void OneRank(CheckReport report, NcclNative nccl, CudaRuntime cudaRuntime, NcclUniqueId id)
    {
        var init = nccl.CommInitRank(out var comm, 1, id, 0);
        report.Add("ncclCommInitRank(1 rank)", init == NcclResult.Success && comm != IntPtr.Zero, $"{init}");
        var floats = Enumerable.Range(0, N).Select(i => (float)Math.Sin(i) * 1000f).ToArray();
        var longs = Enumerable.Range(0, N).Select(i => (long)i * 1_000_003L - 7).ToArray();
        foreach (var op in new[] { NcclRedOp.Sum, NcclRedOp.Avg, NcclRedOp.Max, NcclRedOp.Min })
        {
            var buffer = cudaRuntime.Upload<float>(floats);
            var result = nccl.AllReduce(buffer, buffer, N, NcclDataType.Float32, op, comm, IntPtr.Zero);
            cudaRuntime.Synchronize();
            report.Add($"ncclAllReduce float32 {op} in place", result == NcclResult.Success && cudaRuntime.Download<float>(buffer, N).SequenceEqual(floats), $"{result}");
            cudaRuntime.Free(buffer);
        }
        var send = cudaRuntime.Upload<long>(longs);
        var receive = cudaRuntime.Upload<long>(new long[N]);
        var sum = nccl.AllReduce(send, receive, N, NcclDataType.Int64, NcclRedOp.Sum, comm, IntPtr.Zero);
        cudaRuntime.Synchronize();
        report.Add("ncclAllReduce int64 Sum out of place", sum == NcclResult.Success && cudaRuntime.Download<long>(receive, N).SequenceEqual(longs)
            && cudaRuntime.Download<long>(send, N).SequenceEqual(longs), $"{sum}: receive == send, send unchanged");
        var broadcast = nccl.Broadcast(send, receive, N, NcclDataType.Int64, 0, comm, IntPtr.Zero);
        cudaRuntime.Synchronize();
        report.Add("ncclBroadcast root 0", broadcast == NcclResult.Success && cudaRuntime.Download<long>(receive, N).SequenceEqual(longs), $"{broadcast}");
        var gather = nccl.AllGather(send, receive, N, NcclDataType.Int64, comm, IntPtr.Zero);
        cudaRuntime.Synchronize();
        report.Add("ncclAllGather", gather == NcclResult.Success && cudaRuntime.Download<long>(receive, N).SequenceEqual(longs), $"{gather}");
        var bad = nccl.AllReduce(send, send, N, (NcclDataType)99, NcclRedOp.Sum, comm, IntPtr.Zero);
        report.Add("bad datatype refused", bad == NcclResult.InvalidArgument, $"{bad}: \"{nccl.Describe(bad)}\"");
        cudaRuntime.Free(send);
        cudaRuntime.Free(receive);
        var destroy = nccl.CommDestroy(comm);
        report.Add("ncclCommDestroy", destroy == NcclResult.Success, $"{destroy}");
        nccl.GetUniqueId(out var otherId);
        var outOfRange = nccl.CommInitRank(out _, 1, otherId, 3);
        report.Add("rank outside the world refused", outOfRange == NcclResult.InvalidArgument, $"{outOfRange}: \"{nccl.Describe(outOfRange)}\"");
    }

    // Two ranks (threads) on the one GPU with one id passed by value: they meet only if both read the same bootstrap
    // address out of the id. NCCL then refuses two ranks on one device (InvalidUsage, after the peers exchanged their
    // info) or, where it allows it, the two ranks all-reduce for real.
    static void TwoRanksOnOneGpu(CheckReport report, NcclNative nccl, CudaRuntime cudaRuntime)
    {
        nccl.GetUniqueId(out var pairId);
        var comms = new IntPtr[2];
        var results = new NcclResult[2];
        var threads = Enumerable.Range(0, 2).Select(rank => new Thread(() =>
        {
            cudaRuntime.SetDevice(0);
            results[rank] = nccl.CommInitRank(out comms[rank], 2, pairId, rank);
        })).ToArray();
        foreach (var thread in threads)
            thread.Start();
        if (!threads.All(t => t.Join(TimeSpan.FromSeconds(90))))
        {
            report.Add("two ranks meet through the id", false, "ncclCommInitRank did not return within 90 s");
            return;
        }
        if (results.All(r => r == NcclResult.Success))
        {
            report.Info("two ranks on one GPU", "NCCL accepted them (newer NCCL); destroying the communicators");
            foreach (var c in comms)
                nccl.CommDestroy(c);
            return;
        }
        report.Add("two ranks meet through the id", results.All(r => r == NcclResult.InvalidUsage),
            $"{results[0]}, {results[1]}: \"{nccl.Describe(results[0])}\" (NCCL refuses two ranks on one GPU after the peers exchanged their info)");
    }

    static bool Same(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.ne(b).sum().item<long>() == 0;

    static (bool, string) ProcessGroup()
    {
        InitializeDeviceType(DeviceType.CUDA);
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(30));
        using var group = NcclProcessGroup.Create(store, SingleProcessGroup.Instance, TimeSpan.FromSeconds(30));
        using var scope = NewDisposeScope();
        var values = arange(0, 1000, dtype: ScalarType.Float32, device: CUDA).mul(0.5f);
        var reduced = values.clone();
        group.AllReduce(reduced, ReduceOp.Avg);
        var ints = arange(0, 77, dtype: ScalarType.Int64, device: CUDA);
        var broadcast = ints.clone();
        group.Broadcast(broadcast);
        var cpuRefused = false;
        try
        {
            group.AllReduce(ones(3), ReduceOp.Sum);
        }
        catch (ArgumentException)
        {
            cpuRefused = true;
        }
        var ok = Same(reduced, values) && Same(broadcast, ints) && cpuRefused && group.Backend == "nccl";
        return (ok, $"AllReduce(Avg) of a float32 CUDA tensor and Broadcast of an int64 one unchanged at world size 1; a CPU tensor refused: {cpuRefused}");
    }
}
