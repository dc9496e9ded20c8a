using D2.Detection.Engine;
using D2.Detection.Modeling;
using D2.Detection.Solver;
using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Tests.Engine;

/// <summary>The loop of spec §19.1 on a stand-in model: scalars, hook order, divergence, data time, memory.</summary>
public class SimpleTrainerTests
{
    static IEnumerator<IReadOnlyList<ModelInput>> Endless(Action? beforeEach = null) => Stream(beforeEach).GetEnumerator();

    static IEnumerable<IReadOnlyList<ModelInput>> Stream(Action? beforeEach = null)
    {
        for (var t = 0; ; t++)
        {
            beforeEach?.Invoke();
            yield return [new ModelInput(full(3, 4, 4, 100f + t))];
        }
    }

    [Test]
    public void Loop_stores_each_loss_their_total_data_time_lr_and_time_from_the_third_iteration()
    {
        using var model = new FakeDetector();
        using var optimizer = optim.SGD(model.parameters(), 0.1, momentum: 0.9);
        var scheduler = new WarmupMultiStepLR(optimizer, 5, [3], 0.1, warmupFactor: 0.5, warmupIters: 2);
        var trainer = new SimpleTrainer(model, Endless(), optimizer);
        trainer.RegisterHooks([new IterationTimer(), new LRScheduler(optimizer, scheduler)]);

        trainer.Train(0, 5);

        var storage = trainer.Storage;
        Assert.That(storage.Histories().Keys, Is.EqualTo(new[] { "rank_data_time", "data_time", "total_loss", "loss_a", "loss_b", "lr", "time" }));
        Assert.That(storage.History("total_loss").Values().Select(v => v.Iteration), Is.EqualTo(new long[] { 0, 1, 2, 3, 4 }));
        Assert.That(storage.History("time").Values().Select(v => v.Iteration), Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That(storage.History("lr").Values().Select(v => v.Value), Is.EqualTo(Enumerable.Range(0, 5).Select(t => 0.1 * scheduler.Multiplier(t))).Within(1e-15));
        foreach (var (value, iteration) in storage.History("total_loss").Values())
        {
            var a = storage.History("loss_a").Values().Single(v => v.Iteration == iteration).Value;
            var b = storage.History("loss_b").Values().Single(v => v.Iteration == iteration).Value;
            Assert.That(value, Is.EqualTo(a + b), $"iteration {iteration}");
        }
        Assert.That(trainer.Iter, Is.EqualTo(5), "Detectron2's convention: MaxIter after a completed run");
        Assert.That(scheduler.LastIteration, Is.EqualTo(5));
    }

    [Test]
    public void Hooks_run_in_registration_order_around_each_step()
    {
        using var model = new FakeDetector();
        using var optimizer = optim.SGD(model.parameters(), 0.1);
        var first = new RecordingHook();
        var second = new RecordingHook();
        var trainer = new SimpleTrainer(model, Endless(), optimizer);
        trainer.RegisterHooks([first, null, second]);
        trainer.Train(3, 5);
        var expected = new[] { "BeforeTrain", "BeforeStep 3", "AfterStep 3", "BeforeStep 4", "AfterStep 4", "AfterTrain 5" };
        Assert.That(first.Calls, Is.EqualTo(expected));
        Assert.That(second.Calls, Is.EqualTo(expected));
        Assert.That(trainer.Hooks, Has.Count.EqualTo(2));
    }

    [Test]
    public void A_non_finite_loss_stops_before_the_optimizer_step_naming_the_iteration_and_losses()
    {
        using var model = new FakeDetector { NanAtCall = 2 };
        using var optimizer = optim.SGD(model.parameters(), 0.1, momentum: 0.9);
        float[] weightAfterLastStep = [];
        var hook = new RecordingHook { OnAfterStep = _ => weightAfterLastStep = model.Weight };
        var trainer = new SimpleTrainer(model, Endless(), optimizer);
        trainer.RegisterHooks([hook]);

        var error = Assert.Throws<FloatingPointError>(() => trainer.Train(0, 10))!;

        Assert.That(error.Message, Does.StartWith("Loss became infinite or NaN at iteration=2!\nloss_dict = {'loss_a': "));
        Assert.That(error.Message, Does.EndWith("'loss_b': nan}"));
        Assert.That(model.Weight, Is.EqualTo(weightAfterLastStep), "no step was taken with the NaN loss");
        Assert.That(hook.Calls.Last(), Is.EqualTo("AfterTrain 2"), "hooks still see the end of training");
        Assert.That(trainer.Storage.History("total_loss").Count, Is.EqualTo(2));
    }

    [Test]
    public void Data_time_measures_the_wait_for_the_next_batch()
    {
        using var model = new FakeDetector();
        using var optimizer = optim.SGD(model.parameters(), 0.1);
        var trainer = new SimpleTrainer(model, Endless(() => Thread.Sleep(40)), optimizer);
        trainer.Train(0, 3);
        Assert.That(trainer.Storage.History("data_time").Values().Select(v => v.Value), Has.All.GreaterThanOrEqualTo(0.035));
    }

    [Test]
    public void Data_that_ends_before_MAX_ITER_fails_naming_the_iteration()
    {
        using var model = new FakeDetector();
        using var optimizer = optim.SGD(model.parameters(), 0.1);
        var trainer = new SimpleTrainer(model, Stream().Take(2).GetEnumerator(), optimizer);
        Assert.That(() => trainer.Train(0, 5), Throws.InvalidOperationException.With.Message.Contains("ended at iteration 2"));
    }

    sealed class DisposableBatch(ModelInput input) : List<ModelInput>([input]), IDisposable
    {
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }

    [Test]
    public void A_batch_that_owns_its_tensors_is_disposed_after_its_step()
    {
        using var model = new FakeDetector();
        using var optimizer = optim.SGD(model.parameters(), 0.1);
        var batches = Enumerable.Range(0, 3).Select(t => new DisposableBatch(new ModelInput(full(3, 4, 4, 100f + t)))).ToList();
        var trainer = new SimpleTrainer(model, batches.GetEnumerator(), optimizer);
        trainer.Train(0, 3);
        Assert.That(batches.Select(b => b.Disposed), Has.All.True);
    }

    [Test]
    public void Live_tensor_count_stays_flat_over_iterations()
    {
        using var model = new FakeDetector();
        using var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9, weight_decay: 1e-4);
        var live = new Dictionary<long, long>();
        var hook = new RecordingHook { OnAfterStep = t => live[t.Iter] = DisposeScopeManager.Statistics.ThreadTotalLiveCount };
        var trainer = new SimpleTrainer(model, Endless(), optimizer, new GradientClipper(GradientClipType.Norm, 1.0));
        trainer.RegisterHooks([hook]);
        trainer.Train(0, 30);
        Assert.That(live[29], Is.EqualTo(live[3]));
    }

    [Test]
    public void Live_progress_rewrites_one_line_and_clears_it_before_each_periodic_print()
    {
        using var model = new FakeDetector();
        using var optimizer = optim.SGD(model.parameters(), 0.1);
        var console = new StringWriter();
        var trainer = new SimpleTrainer(model, Endless(), optimizer);
        // A printer stand-in writing a whole line at the end of iterations 1 and 3 (period 2), before the progress hook runs.
        var printer = new RecordingHook { OnAfterStep = t => { if ((t.Iter + 1) % 2 == 0) console.WriteLine($"PRINT {t.Iter}"); } };
        trainer.RegisterHooks([printer, new LiveProgress(console, printPeriod: 2)]);

        trainer.Train(0, 4);

        var text = console.ToString();
        // What a terminal shows of each periodic line (the text after its last carriage return) is the line alone:
        // the status line was blanked out first.
        foreach (var line in text.Split('\n').Where(l => l.Contains("PRINT", StringComparison.Ordinal)))
            Assert.That(line.Split('\r')[^1], Does.StartWith("PRINT"), line);
        Assert.That(text.Split('\n').Where(l => l.Contains("PRINT", StringComparison.Ordinal)).Select(l => l.Split('\r')[^2]),
            Has.All.Match(@"^ *$"), "the status line is overwritten with blanks, not left in front of the print");
        Assert.That(text, Does.Contain("iter 1/4").And.Contain("iter 3/4").And.Contain("total_loss").And.Contain("eta"));
        Assert.That(text, Does.EndWith("\r"), "the status line is cleared when training ends");
    }
}
