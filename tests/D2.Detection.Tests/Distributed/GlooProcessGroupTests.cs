using System.Diagnostics;
using System.Net;
using System.Text;
using D2.Detection.Distributed;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Distributed;

/// <summary>Gloo through the shim, with every rank on a thread of this process (Gloo's contexts are independent).</summary>
[CancelAfter(60_000)]
public class GlooProcessGroupTests
{
    private static T[] RunRanks<T>(int world, Func<IProcessGroup, T> body, TimeSpan? timeout = null)
    {
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        var tasks = Enumerable.Range(0, world).Select(rank => Task.Factory.StartNew(() =>
        {
            using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(10));
            using var group = GlooProcessGroup.Create(store, rank, world, timeout ?? TimeSpan.FromSeconds(10));
            return body(group);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.That(Task.WaitAll(tasks, TimeSpan.FromSeconds(40)), Is.True, "ranks finished");
        return tasks.Select(t => t.Result).ToArray();
    }

    [Test]
    public void All_reduce_sums_averages_and_takes_the_max_over_three_ranks()
    {
        var results = RunRanks(3, g =>
        {
            using var sum = tensor(new float[] { g.Rank, 10 * g.Rank, 1 });
            g.AllReduce(sum, ReduceOp.Sum);
            using var avg = full(1000, g.Rank + 1f); // more than one Gloo segment is not needed: exact small values
            g.AllReduce(avg, ReduceOp.Avg);
            using var max = tensor(new float[] { g.Rank, -g.Rank });
            g.AllReduce(max, ReduceOp.Max);
            return (sum.data<float>().ToArray(), avg.data<float>().ToArray().Distinct().ToArray(), max.data<float>().ToArray());
        });
        foreach (var (sum, avg, max) in results)
        {
            Assert.That(sum, Is.EqualTo(new float[] { 0 + 1 + 2, 0 + 10 + 20, 3 }));
            Assert.That(avg, Is.EqualTo(new float[] { (1 + 2 + 3) / 3f }));
            Assert.That(max, Is.EqualTo(new float[] { 2, 0 }));
        }
    }

    [Test]
    public void Broadcast_copies_the_roots_tensor_of_any_type_to_every_rank()
    {
        var results = RunRanks(2, g =>
        {
            using var weights = g.Rank == 1 ? arange(5, dtype: ScalarType.Float64) : zeros(5, dtype: ScalarType.Float64);
            g.Broadcast(weights, root: 1);
            return weights.data<double>().ToArray();
        });
        Assert.That(results, Has.All.EqualTo(new double[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public void All_gather_returns_every_ranks_bytes_in_rank_order_whatever_their_lengths()
    {
        var results = RunRanks(3, g =>
        {
            var mine = Encoding.UTF8.GetBytes(new string('r', g.Rank * 3)); // rank 0 sends nothing
            var all = g.AllGather(mine);
            g.Barrier();
            return all.Select(b => Encoding.UTF8.GetString(b)).ToArray();
        });
        Assert.That(results, Has.All.EqualTo(new[] { "", "rrr", "rrrrrr" }));
    }

    [Test]
    public void A_peer_that_exits_fails_the_others_collective_at_once_naming_the_rank()
    {
        // Timed from rank 0's all-reduce, not from the start: joining the mesh can take long on a loaded machine.
        var results = RunRanks(2, g =>
        {
            if (g.Rank == 1)
                return ("left", TimeSpan.Zero); // disposes its group: its connections close
            Thread.Sleep(200);
            using var t = ones(4);
            var watch = Stopwatch.StartNew();
            try
            {
                g.AllReduce(t, ReduceOp.Sum);
                return ("no error", watch.Elapsed);
            }
            catch (CollectiveException e)
            {
                return (e.Message, watch.Elapsed);
            }
        }, timeout: TimeSpan.FromSeconds(30));
        Assert.That(results[0].Item1, Does.StartWith("Rank 0 of 2: all-reduce failed"));
        Assert.That(results[0].Item2, Is.LessThan(TimeSpan.FromSeconds(15)), "not the 30 s timeout");
    }

    [Test]
    public void A_rank_that_never_joins_times_out_with_the_missing_key()
    {
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(1));
        var e = Assert.Throws<CollectiveException>(() => GlooProcessGroup.Create(store, 0, 2, TimeSpan.FromSeconds(1)).Dispose());
        Assert.That(e!.Message, Does.StartWith("Rank 0 of 2 could not connect").And.Contain("Timed out"));
    }
}
