using System.Net;
using D2.Detection.Data.Loader;
using D2.Detection.Distributed;
using D2.Detection.Engine;
using D2.Detection.Modeling;
using D2.Detection.Tests.Engine;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Distributed;

[CancelAfter(60_000)]
public class DataParallelSemanticsTests
{
    [Test]
    public void Each_rank_takes_every_world_size_th_index_of_the_one_shared_sampler_stream()
    {
        var sampler = new TrainingSampler(7, shuffle: true, seed: 3);
        var whole = sampler.Take(40).ToArray();
        var rank0 = new RankShard(sampler, 0, 2).Take(20).ToArray();
        var rank1 = new RankShard(sampler, 1, 2).Take(20).ToArray();
        // islice(rank, None, world): the ranks' first samples are the single process's first batch of 2, and so on.
        Assert.That(rank0, Is.EqualTo(whole.Where((_, i) => i % 2 == 0)));
        Assert.That(rank1, Is.EqualTo(whole.Where((_, i) => i % 2 == 1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new RankShard(sampler, 2, 2));
    }

    [Test]
    public void IMS_PER_BATCH_is_the_total_and_must_divide_by_the_number_of_workers()
    {
        Assert.That(DetectionDataLoaders.ImagesPerWorker(16, 8), Is.EqualTo(2));
        Assert.That(DetectionDataLoaders.ImagesPerWorker(2, 1), Is.EqualTo(2));
        var e = Assert.Throws<ArgumentException>(() => DetectionDataLoaders.ImagesPerWorker(3, 2));
        Assert.That(e!.Message, Does.Contain("SOLVER.IMS_PER_BATCH (3)").And.Contain("number of workers (2)"));
    }

    [Test]
    public void Launcher_variables_are_read_back_and_bad_ones_are_named()
    {
        var settings = new DistributedSettings(3, 4, 1, 2, "algo-1", 7777, TimeSpan.FromSeconds(90));
        var env = new System.Collections.Hashtable();
        foreach (var (k, v) in settings.ToEnvironment()) env[k] = v;
        Assert.That(DistributedSettings.FromEnvironment(env), Is.EqualTo(settings));
        Assert.That(DistributedSettings.FromEnvironment(new System.Collections.Hashtable()), Is.Null, "no WORLD_SIZE: not distributed");
        env["RANK"] = "4";
        Assert.That(Assert.Throws<ArgumentException>(() => DistributedSettings.FromEnvironment(env))!.Message, Does.Contain("RANK=4"));
        env["RANK"] = "1";
        env["MASTER_PORT"] = "http";
        Assert.That(Assert.Throws<ArgumentException>(() => DistributedSettings.FromEnvironment(env))!.Message, Does.Contain("MASTER_PORT='http'"));
    }

    [Test]
    public void A_non_finite_loss_on_one_rank_stops_every_rank_at_the_same_iteration()
    {
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        var results = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(10));
            using var group = GlooProcessGroup.Create(store, rank, 2, TimeSpan.FromSeconds(20));
            // Only rank 1's model diverges, at its third forward.
            using var model = new FakeDetector { NanAtCall = rank == 1 ? 2 : null };
            using var optimizer = optim.SGD(model.parameters(), 0.1);
            var loop = new SimpleTrainer(model, TrainingFixtures.Batches(() => 0), optimizer) { Group = group };
            var e = Assert.Throws<FloatingPointError>(() => loop.Train(0, 10));
            return (loop.Iter, e!.Message);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.That(Task.WaitAll(results, TimeSpan.FromSeconds(40)), Is.True, "no rank hangs");
        Assert.That(results.Select(r => r.Result.Iter), Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(results[0].Result.Message, Does.Contain("iteration=2"));
    }

    [Test]
    public void A_stop_requested_on_one_rank_stops_every_rank_after_the_same_iteration()
    {
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        using var stopRank1 = new CancellationTokenSource();
        var results = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(10));
            using var group = GlooProcessGroup.Create(store, rank, 2, TimeSpan.FromSeconds(20));
            using var model = new FakeDetector();
            using var optimizer = optim.SGD(model.parameters(), 0.1);
            var loop = new SimpleTrainer(model, TrainingFixtures.Batches(() => 0), optimizer) { Group = group };
            loop.RegisterHooks([new RecordingHook { OnAfterStep = t => { if (rank == 1 && t.Iter == 3) stopRank1.Cancel(); } }]);
            loop.Train(0, 10, rank == 1 ? stopRank1.Token : CancellationToken.None);
            return (loop.Iter, loop.Stopped, model.Weight);
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.That(Task.WaitAll(results, TimeSpan.FromSeconds(40)), Is.True, "no rank hangs");
        Assert.That(results.Select(r => (r.Result.Iter, r.Result.Stopped)), Is.EqualTo(new[] { (3L, true), (3L, true) }));
        Assert.That(results[1].Result.Weight, Is.EqualTo(results[0].Result.Weight), "averaged gradients keep the ranks' weights equal");
    }

    [Test]
    public void Gradients_are_averaged_in_buckets_of_the_given_size()
    {
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        var results = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(10));
            using var group = GlooProcessGroup.Create(store, rank, 2, TimeSpan.FromSeconds(20));
            var a = zeros(3).requires_grad_();
            var b = zeros(2, 2).requires_grad_();
            var unused = zeros(2).requires_grad_(); // no gradient on either rank: it takes zeros
            a.grad = full(3, rank + 1f);
            b.grad = full(2, 2, 10f * rank);
            // 12 bytes per bucket: a, b and the unused parameter each get their own bucket.
            var reducer = new GradientAllReducer(group, bucketBytes: 12);
            reducer.AllReduce([a, b, unused]);
            return (a.grad!.data<float>().ToArray(), b.grad!.data<float>().ToArray(), unused.grad!.data<float>().ToArray());
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.That(Task.WaitAll(results, TimeSpan.FromSeconds(40)), Is.True);
        foreach (var (a, b, unused) in results.Select(r => r.Result))
        {
            Assert.That(a, Is.EqualTo(new[] { 1.5f, 1.5f, 1.5f }));
            Assert.That(b, Is.EqualTo(new[] { 5f, 5f, 5f, 5f }));
            Assert.That(unused, Is.EqualTo(new[] { 0f, 0f }));
        }
    }
}
