using System.Diagnostics;
using System.Net;
using D2.Detection.Config;
using D2.Detection.Distributed;
using D2.Detection.Modeling;
using static TorchSharp.torch;

namespace D2.Benchmarks;

/// <summary>
/// `allreduce`: the cost of data-parallel training's gradient averaging for the demo config
/// (Misc/cpu_mask_rcnn_R_18_FPN_GN_small) with 2 CPU workers over Gloo on loopback: milliseconds per iteration and MB/s
/// of gradient, against the peer in the same run: the same flatten and copy-back with no network (world size 1 path
/// forced through a local sum), which is the floor a faster transport could reach.
/// </summary>
internal static class AllReduceCheck
{
    public static int Run(int iterations = 20)
    {
        var cfg = ModelZoo.GetConfig("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml", ["MODEL.DEVICE", "cpu"]);
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        var results = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            using var model = ModelBuilder.Build(cfg);
            var parameters = model.parameters().Where(p => p.requires_grad).ToList();
            foreach (var p in parameters)
                p.grad = randn_like(p);
            using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(30));
            using var group = GlooProcessGroup.Create(store, rank, 2, TimeSpan.FromSeconds(120));
            var reducer = new GradientAllReducer(group);
            reducer.AllReduce(parameters); // warm-up: connections, buffers
            group.Barrier();
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < iterations; i++)
                reducer.AllReduce(parameters);
            var allReduce = watch.Elapsed.TotalMilliseconds / iterations;

            // Peer: the same buckets flattened and copied back, without the collective (rank 0 alone, rank 1 idle).
            group.Barrier();
            watch.Restart();
            for (var i = 0; i < iterations && rank == 0; i++)
            {
                using var scope = NewDisposeScope();
                using var flat = cat(parameters.Select(p => p.grad!.reshape(-1)).ToList());
                long offset = 0;
                foreach (var p in parameters)
                {
                    p.grad!.copy_(flat.narrow(0, offset, p.numel()).view_as(p.grad!));
                    offset += p.numel();
                }
            }
            var local = watch.Elapsed.TotalMilliseconds / iterations;
            group.Barrier();
            return (Bytes: reducer.LastBytes, AllReduce: allReduce, Local: local);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(results);
        var (bytes, ms, localMs) = results[0].Result;
        var megabytes = bytes / 1e6;
        Console.WriteLine($"demo config gradients: {megabytes:F1} MB in {Math.Ceiling(bytes / (double)GradientAllReducer.DefaultBucketBytes)} bucket(s) of <= 25 MiB");
        Console.WriteLine($"2 CPU workers, Gloo over loopback: {ms,8:F2} ms per iteration  {megabytes / (ms / 1000):F0} MB/s");
        Console.WriteLine($"peer (flatten + copy back, no collective): {localMs,8:F2} ms per iteration  {megabytes / (localMs / 1000):F0} MB/s");
        return 0;
    }
}
