using System.Net;
using D2.Detection.Config;
using D2.Detection.Distributed;
using D2.Detection.Solver;
using D2.Detection.Tests.Engine;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Distributed;

[CancelAfter(60_000)]
public class TrainingStateSyncTests
{
    [Test]
    public void A_rank_that_could_not_see_the_checkpoint_takes_rank_0s_weights_momentum_schedule_and_iteration()
    {
        var cfg = ModelZoo.GetConfig("Misc/cpu_faster_rcnn_R_18_FPN_GN_small.yaml", ["SOLVER.WARMUP_ITERS", "10", "SOLVER.MOMENTUM", "0.9"]);
        using var server = new TcpStoreServer(IPAddress.Loopback, 0);
        var ranks = Enumerable.Range(0, 2).Select(rank => Task.Factory.StartNew(() =>
        {
            using var store = TcpStore.Connect("127.0.0.1", server.Port, TimeSpan.FromSeconds(10));
            using var group = GlooProcessGroup.Create(store, rank, 2, TimeSpan.FromSeconds(20));
            using var model = new FakeDetector();
            using var optimizer = OptimizerBuilder.BuildSgd(cfg, model);
            var scheduler = LrSchedulerBuilder.Build(cfg, optimizer);
            long start = 0;
            if (rank == 0)
            {
                // "Resumed": three steps taken, so momentum buffers exist and the warmup has advanced.
                for (var i = 0; i < 3; i++)
                {
                    optimizer.zero_grad();
                    using var batch = TrainingFixtures.Batches(() => i);
                    batch.MoveNext();
                    var losses = model.forward(batch.Current);
                    losses.Values.Aggregate((a, b) => a + b).backward();
                    optimizer.step();
                    scheduler.Step();
                }
                start = 3;
            }
            start = TrainingStateSync.FromRank0(group, model, optimizer, scheduler, start);
            var momentum = SgdState.Capture(optimizer, model).ToDictionary(p => p.Key, p => p.Value.data<float>().ToArray());
            return (start, model.Weight, momentum, Schedule: scheduler.StateToJson());
        }, TaskCreationOptions.LongRunning)).ToArray();
        Assert.That(Task.WaitAll(ranks, TimeSpan.FromSeconds(40)), Is.True);
        var (zero, one) = (ranks[0].Result, ranks[1].Result);
        Assert.That(one.start, Is.EqualTo(3));
        Assert.That(one.Weight, Is.EqualTo(zero.Weight));
        Assert.That(zero.momentum, Is.Not.Empty);
        Assert.That(one.momentum.Keys, Is.EquivalentTo(zero.momentum.Keys));
        foreach (var (name, values) in zero.momentum)
            Assert.That(one.momentum[name], Is.EqualTo(values), name);
        Assert.That(one.Schedule, Is.EqualTo(zero.Schedule));
    }
}
