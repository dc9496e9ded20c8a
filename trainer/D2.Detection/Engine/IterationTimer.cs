using System.Diagnostics;
using System.Globalization;

namespace D2.Detection.Engine;

/// <summary>
/// Detectron2's IterationTimer: stores each iteration's duration as "time" from the <paramref name="warmupIter"/>-th
/// iteration of the run on (the first ones are slow), and logs the overall speed at the end. Register it first so its
/// BeforeStep starts the clock before the other hooks run.
/// </summary>
/// <param name="warmupIter">iterations at the start not timed (Detectron2's DefaultTrainer uses 3: "time" starts at the third)</param>
public sealed class IterationTimer(int warmupIter = 3) : HookBase
{
    private readonly Stopwatch _step = new();
    private readonly Stopwatch _total = new();
    private readonly Stopwatch _sinceStart = new();

    public override void BeforeTrain()
    {
        _sinceStart.Restart();
        _total.Reset();
    }

    public override void BeforeStep()
    {
        _step.Restart();
        _total.Start();
    }

    public override void AfterStep()
    {
        // +1: the current step is done but not yet counted.
        var done = Trainer.Storage.Iter - Trainer.StartIter + 1;
        if (done >= warmupIter)
        {
            Trainer.Storage.PutScalar("time", _step.Elapsed.TotalSeconds);
        }
        else
        {
            _sinceStart.Restart();
            _total.Reset();
        }
        _total.Stop();
    }

    public override void AfterTrain()
    {
        var totalTime = _sinceStart.Elapsed.TotalSeconds;
        var stepsTime = _total.Elapsed.TotalSeconds;
        var iterations = Trainer.Storage.Iter + 1 - Trainer.StartIter - warmupIter;
        if (iterations > 0 && stepsTime > 0)
            Trainer.Log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Overall training speed: {iterations} iterations in {PythonFormat.TimeDelta((long)stepsTime)} ({stepsTime / iterations:F4} s / it)"));
        Trainer.Log.WriteLine($"Total training time: {PythonFormat.TimeDelta((long)totalTime)} ({PythonFormat.TimeDelta((long)(totalTime - stepsTime))} on hooks)");
    }
}
