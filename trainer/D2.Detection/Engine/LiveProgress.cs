using System.Diagnostics;
using System.Globalization;

namespace D2.Detection.Engine;

/// <summary>
/// A live status line for interactive terminals, rewritten in place after every iteration (progress bar, iteration,
/// total_loss, lr, seconds per iteration, ETA). The periodic console lines, metrics.json and event files are unchanged:
/// the status line is cleared just before an iteration whose end prints a periodic line. Register it only when the
/// output is a terminal (logs, CI and SageMaker get the plain lines).
/// </summary>
/// <param name="console">the terminal</param>
/// <param name="printPeriod">the PeriodicWriter's period, so the line is out of the way when it prints</param>
public sealed class LiveProgress(TextWriter console, long printPeriod = 20) : HookBase
{
    private const int BarWidth = 24;
    private readonly Stopwatch _watch = new();
    private long _firstIter;
    private int _lastLength;

    public override void BeforeTrain()
    {
        _firstIter = Trainer.StartIter;
        _watch.Restart();
    }

    public override void BeforeStep()
    {
        var iter = Trainer.Iter;
        if ((iter + 1) % printPeriod == 0 || iter + 1 == Trainer.MaxIter)
            Clear();
    }

    public override void AfterStep()
    {
        var iter = Trainer.Iter;
        var done = iter + 1 - _firstIter;
        var total = Trainer.MaxIter - _firstIter;
        var secondsPerIter = _watch.Elapsed.TotalSeconds / Math.Max(done, 1);
        var eta = TimeSpan.FromSeconds(secondsPerIter * (Trainer.MaxIter - iter - 1));
        var filled = (int)(BarWidth * done / Math.Max(total, 1));
        var latest = Trainer.Storage.Latest();
        string Scalar(string name, string format) =>
            latest.TryGetValue(name, out var value) ? value.Value.ToString(format, CultureInfo.InvariantCulture) : "-";
        var line = $"[{new string('#', filled)}{new string('.', BarWidth - filled)}] iter {iter + 1}/{Trainer.MaxIter}  " +
                   $"total_loss {Scalar("total_loss", "F3")}  lr {Scalar("lr", "G4")}  {secondsPerIter:F2} s/it  eta {eta:hh\\:mm\\:ss}";
        console.Write("\r" + line.PadRight(_lastLength));
        _lastLength = line.Length;
        console.Flush();
    }

    public override void AfterTrain() => Clear();

    private void Clear()
    {
        if (_lastLength == 0)
            return;
        console.Write("\r" + new string(' ', _lastLength) + "\r");
        console.Flush();
        _lastLength = 0;
    }
}
