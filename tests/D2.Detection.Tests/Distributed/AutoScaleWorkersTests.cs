using D2.Detection.Config;
using D2.Detection.Engine;

namespace D2.Detection.Tests.Distributed;

public class AutoScaleWorkersTests
{
    static CfgNode Config(params string[] opts) => ModelZoo.GetConfig("COCO-Detection/faster_rcnn_R_50_FPN_1x.yaml",
        ["SOLVER.REFERENCE_WORLD_SIZE", "8", "SOLVER.CHECKPOINT_PERIOD", "5000", "TEST.EVAL_PERIOD", "7", .. opts]);

    [Test]
    public void Sixteen_workers_double_the_batch_and_LR_and_halve_the_schedule_of_an_8_worker_config()
    {
        // The 1x schedule: 16 images, LR 0.02, 90000 iterations, steps (60000, 80000), warmup 1000.
        var cfg = Config();
        var log = new StringWriter();
        var scaled = AutoScaleWorkers.Apply(cfg, 16, log);
        Assert.That(scaled.Get<int>("SOLVER.IMS_PER_BATCH"), Is.EqualTo(32));
        Assert.That(scaled.Get<double>("SOLVER.BASE_LR"), Is.EqualTo(0.04).Within(1e-15));
        Assert.That(scaled.Get<long>("SOLVER.MAX_ITER"), Is.EqualTo(45000));
        Assert.That(scaled.Get<long>("SOLVER.WARMUP_ITERS"), Is.EqualTo(500));
        Assert.That(scaled.Get<long[]>("SOLVER.STEPS"), Is.EqualTo(new long[] { 30000, 40000 }));
        Assert.That(scaled.Get<long>("SOLVER.CHECKPOINT_PERIOD"), Is.EqualTo(2500));
        Assert.That(scaled.Get<long>("TEST.EVAL_PERIOD"), Is.EqualTo(4), "int(round(3.5)) is 4 in Python (half to even)");
        Assert.That(scaled.Get<int>("SOLVER.REFERENCE_WORLD_SIZE"), Is.EqualTo(16));
        Assert.That(log.ToString(), Does.Contain("Auto-scaling the config to batch_size=32, learning_rate=0.04, max_iter=45000, warmup=500."));
        Assert.That(cfg.Get<int>("SOLVER.IMS_PER_BATCH"), Is.EqualTo(16), "the input is left as it was");
        Assert.That(AutoScaleWorkers.Apply(scaled, 16), Is.SameAs(scaled), "scaling again is a no-op");
    }

    [Test]
    public void Halves_round_to_even_as_Python_and_off_or_equal_world_sizes_change_nothing()
    {
        // 8 -> 16 workers halves the periods: 5 / 2 and 3 / 2 land on .5.
        var cfg = Config("TEST.EVAL_PERIOD", "5", "SOLVER.WARMUP_ITERS", "3");
        var scaled = AutoScaleWorkers.Apply(cfg, 16);
        Assert.That(scaled.Get<long>("TEST.EVAL_PERIOD"), Is.EqualTo(2), "round(2.5) == 2");
        Assert.That(scaled.Get<long>("SOLVER.WARMUP_ITERS"), Is.EqualTo(2), "round(1.5) == 2");
        var off = ModelZoo.GetConfig("COCO-Detection/faster_rcnn_R_50_FPN_1x.yaml", []);
        Assert.That(AutoScaleWorkers.Apply(off, 4), Is.SameAs(off));
        Assert.That(AutoScaleWorkers.Apply(cfg, 8), Is.SameAs(cfg));
        var e = Assert.Throws<ArgumentException>(() => AutoScaleWorkers.Apply(Config("SOLVER.IMS_PER_BATCH", "12"), 4));
        Assert.That(e!.Message, Does.Contain("SOLVER.IMS_PER_BATCH (12)").And.Contain("(8)"));
    }
}
