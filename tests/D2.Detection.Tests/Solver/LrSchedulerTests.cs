using D2.Detection.Config;
using D2.Detection.Solver;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Solver;

/// <summary>
/// LR schedules against Detectron2's formulas written out here (spec §18.2): linear warmup f + (e - f) t / W with
/// e the schedule's value at W, then GAMMA^(number of STEPS s &lt;= t), or 0.5 (1 + cos(pi t / MAX_ITER)).
/// </summary>
public class LrSchedulerTests
{
    static SGD OneParameterSgd(double lr) => optim.SGD([new Parameter(zeros(1))], lr, momentum: 0.9);

    static double MultiStepReference(long t, long maxIter, long warmupIters, double factor, long[] steps, double gamma)
    {
        double Decay(long iteration) => Math.Pow(gamma, steps.Count(s => s <= iteration));
        var w = Math.Min(warmupIters, maxIter);
        if (t >= w)
            return Decay(t);
        var alpha = t / (double)w;
        return factor * (1 - alpha) + Decay(w) * alpha;
    }

    [Test]
    public void Multistep_with_linear_warmup_matches_Detectron2_formula_at_every_iteration()
    {
        using var optimizer = OneParameterSgd(0.02);
        long[] steps = [150, 250];
        var scheduler = new WarmupMultiStepLR(optimizer, 300, steps, 0.1, warmupFactor: 0.001, warmupIters: 100);
        for (long t = 0; t <= 300; t++)
            Assert.That(scheduler.Multiplier(t), Is.EqualTo(MultiStepReference(t, 300, 100, 0.001, steps, 0.1)).Within(1e-12), $"t={t}");
    }

    [Test]
    public void Multistep_drops_at_the_step_iteration_itself()
    {
        using var optimizer = OneParameterSgd(0.02);
        var scheduler = new WarmupMultiStepLR(optimizer, 300, [150, 250], 0.1, warmupIters: 10);
        Assert.That(scheduler.GetLr(149)[0], Is.EqualTo(0.02).Within(1e-15));
        Assert.That(scheduler.GetLr(150)[0], Is.EqualTo(0.002).Within(1e-15));
        Assert.That(scheduler.GetLr(249)[0], Is.EqualTo(0.002).Within(1e-15));
        Assert.That(scheduler.GetLr(250)[0], Is.EqualTo(0.0002).Within(1e-15));
    }

    [Test]
    public void Warmup_longer_than_the_run_stretches_over_the_whole_run()
    {
        // Spec §18.2: MAX_ITER 300 with WARMUP_ITERS 1000 rises linearly from 0.001 x BASE_LR to about BASE_LR at the end.
        using var optimizer = OneParameterSgd(0.00025);
        var scheduler = new WarmupMultiStepLR(optimizer, 300, [], 0.1, warmupFactor: 0.001, warmupIters: 1000);
        foreach (var t in new long[] { 0, 1, 100, 299 })
            Assert.That(scheduler.Multiplier(t), Is.EqualTo(0.001 + (1 - 0.001) * t / 300.0).Within(1e-12), $"t={t}");
    }

    [Test]
    public void Constant_warmup_holds_the_warmup_factor_until_warmup_ends()
    {
        using var optimizer = OneParameterSgd(0.01);
        var scheduler = new WarmupMultiStepLR(optimizer, 1000, [500], 0.5, warmupFactor: 0.25, warmupIters: 50, warmupMethod: WarmupMethod.Constant);
        Assert.That(scheduler.Multiplier(0), Is.EqualTo(0.25));
        Assert.That(scheduler.Multiplier(49), Is.EqualTo(0.25));
        Assert.That(scheduler.Multiplier(50), Is.EqualTo(1.0));
        Assert.That(scheduler.Multiplier(500), Is.EqualTo(0.5));
    }

    [Test]
    public void Cosine_decays_to_the_end_value_after_a_warmup_that_ends_on_the_curve()
    {
        using var optimizer = OneParameterSgd(0.1);
        const long maxIter = 400, warmup = 40;
        const double end = 0.05, factor = 0.01;
        var scheduler = new WarmupCosineLR(optimizer, maxIter, end, factor, warmup);
        double Cosine(long t) => end + 0.5 * (1 - end) * (1 + Math.Cos(Math.PI * t / maxIter));
        for (long t = 0; t <= maxIter; t++)
        {
            var expected = t >= warmup ? Cosine(t) : factor * (1 - t / (double)warmup) + Cosine(warmup) * t / warmup;
            Assert.That(scheduler.Multiplier(t), Is.EqualTo(expected).Within(1e-12), $"t={t}");
        }
        Assert.That(scheduler.GetLr(maxIter)[0], Is.EqualTo(0.1 * end).Within(1e-15));
    }

    [Test]
    public void Step_with_fixed_gamma_splits_the_run_into_equal_parts()
    {
        using var optimizer = OneParameterSgd(1.0);
        var scheduler = new WarmupStepWithFixedGammaLR(optimizer, 120, gamma: 0.1, numDecays: 3, warmupIters: 0);
        Assert.That(new long[] { 0, 29, 30, 59, 60, 90, 119, 120 }.Select(scheduler.Multiplier),
            Is.EqualTo(new[] { 1, 1, 0.1, 0.1, 0.1 * 0.1, 0.1 * 0.1 * 0.1, 0.1 * 0.1 * 0.1, 0.1 * 0.1 * 0.1 }).Within(1e-15));
    }

    [Test]
    public void Each_group_gets_its_own_base_lr_times_the_multiplier_and_steps_advance_it()
    {
        using var optimizer = optim.SGD(
        [
            new SGD.ParamGroup([new Parameter(zeros(2))], lr: 0.02),
            new SGD.ParamGroup([new Parameter(zeros(3))], lr: 0.04),
        ], 0.02, momentum: 0.9);
        var scheduler = new WarmupMultiStepLR(optimizer, 100, [10], 0.1, warmupFactor: 0.5, warmupIters: 4);
        double[] Lrs() => optimizer.ParamGroups.Select(g => g.LearningRate).ToArray();
        // Construction applies iteration 0, as torch's scheduler does.
        Assert.That(scheduler.LastIteration, Is.EqualTo(0));
        Assert.That(Lrs(), Is.EqualTo(new[] { 0.01, 0.02 }).Within(1e-15));
        scheduler.Step();
        scheduler.Step();
        Assert.That(Lrs(), Is.EqualTo(new[] { 0.02 * 0.75, 0.04 * 0.75 }).Within(1e-15));
        for (var i = 0; i < 8; i++)
            scheduler.Step();
        Assert.That(scheduler.LastIteration, Is.EqualTo(10));
        Assert.That(Lrs(), Is.EqualTo(new[] { 0.002, 0.004 }).Within(1e-15));
    }

    [Test]
    public void State_round_trips_through_json_and_restores_the_optimizer_lrs()
    {
        using var first = OneParameterSgd(0.02);
        var original = new WarmupMultiStepLR(first, 300, [150], 0.1, warmupIters: 100);
        for (var i = 0; i < 120; i++)
            original.Step();
        var json = original.StateToJson();
        Assert.That(json, Is.EqualTo("""{"base_lrs":[0.02],"last_epoch":120}"""));

        using var second = OneParameterSgd(0.02);
        var resumed = new WarmupMultiStepLR(second, 300, [150], 0.1, warmupIters: 100);
        resumed.LoadStateFromJson(json);
        Assert.That(resumed.LastIteration, Is.EqualTo(120));
        Assert.That(second.ParamGroups.Single().LearningRate, Is.EqualTo(first.ParamGroups.Single().LearningRate));
        original.Step();
        resumed.Step();
        Assert.That(second.ParamGroups.Single().LearningRate, Is.EqualTo(first.ParamGroups.Single().LearningRate));
        Assert.That(() => resumed.LoadStateFromJson("""{"base_lrs":[0.1,0.2],"last_epoch":3}"""), Throws.InstanceOf<FormatException>());
    }

    [Test]
    public void Steps_past_MAX_ITER_are_dropped_with_Detectron2s_warning()
    {
        var cfg = ModelZoo.GetConfig("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
            ["SOLVER.MAX_ITER", "300", "SOLVER.STEPS", "(200, 400)", "SOLVER.WARMUP_ITERS", "0", "SOLVER.BASE_LR", "0.01"]);
        using var optimizer = OneParameterSgd(0.01);
        var log = new StringWriter();
        var scheduler = (WarmupMultiStepLR)LrSchedulerBuilder.Build(cfg, optimizer, log);
        Assert.That(log.ToString(), Does.Contain("SOLVER.STEPS contains values larger than SOLVER.MAX_ITER. These values will be ignored."));
        Assert.That(scheduler.Steps, Is.EqualTo(new long[] { 200 }));
        Assert.That(scheduler.GetLr(299)[0], Is.EqualTo(0.001).Within(1e-15));
    }

    [Test]
    public void Builder_reads_the_cosine_schedule_and_rejects_unknown_names()
    {
        var cfg = ModelZoo.GetConfig("Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml",
            ["SOLVER.LR_SCHEDULER_NAME", "WarmupCosineLR", "SOLVER.BASE_LR", "0.02", "SOLVER.BASE_LR_END", "0.002", "SOLVER.MAX_ITER", "100"]);
        using var optimizer = OneParameterSgd(0.02);
        var scheduler = LrSchedulerBuilder.Build(cfg, optimizer);
        Assert.That(scheduler, Is.InstanceOf<WarmupCosineLR>());
        Assert.That(((WarmupCosineLR)scheduler).EndValue, Is.EqualTo(0.1).Within(1e-15));
        cfg.Set("SOLVER.LR_SCHEDULER_NAME", "OneCycle");
        Assert.That(() => LrSchedulerBuilder.Build(cfg, optimizer), Throws.ArgumentException.With.Message.Contains("OneCycle"));
    }
}
