using TorchSharp;
using static TorchSharp.torch;

namespace D2.Analyzers.Tests;

/// <summary>
/// The race the analyzer exists for, on the real libtorch: one thread keeps the GC and the finalizer thread busy while
/// others run an op whose Scalar TorchSharp makes and drops (t.mul(0.5)'s implicit conversion) or one the caller holds.
/// </summary>
public class ScalarRaceTests
{
    /// <summary>Runs the op on two threads under a collecting thread for <paramref name="duration"/>, or until the first wrong result when <paramref name="untilWrong"/>.</summary>
    static (long Ops, long Wrong, string? FirstError, TimeSpan Elapsed) Hammer(bool held, TimeSpan duration, bool untilWrong = false)
    {
        using var stop = new CancellationTokenSource(duration);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long ops = 0, wrong = 0;
        string? firstError = null;
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        collector.Start();
        var workers = Enumerable.Range(0, 2).Select(_ => new Thread(() =>
        {
            using var x = ones(4096);
            using var half = 0.5.ToScalar();
            while (!stop.IsCancellationRequested)
            {
                try
                {
#pragma warning disable D2S001
                    using var y = held ? x.mul(half) : x.mul(0.5);
#pragma warning restore D2S001
                    // Held too: an unheld temporary (y.sum().item()) can be finalized by the collecting thread while
                    // item() reads it, TorchSharp keeping no reference across its native call (seen once in 250k ops).
                    using var total = y.sum();
                    if (total.item<float>() != 2048f)
                    {
                        Interlocked.Increment(ref wrong);
                        Interlocked.CompareExchange(ref firstError, "wrong value", null);
                    }
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref wrong);
                    Interlocked.CompareExchange(ref firstError, e.Message, null);
                }
                if (untilWrong && Interlocked.Read(ref wrong) > 0)
                    stop.Cancel();
                Interlocked.Increment(ref ops);
            }
        }) { IsBackground = true }).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        collector.Join();
        return (ops, wrong, firstError, clock.Elapsed);
    }

    /// <summary>
    /// TorchSharp 0.107's implicit Scalar goes wrong under GC pressure (on the 2-core build machine about once per 30k
    /// ops, "Unknown scalar type", usually within a second or two), and a held one never does. The first half stops at the
    /// first failure (bounded at 60 s); should it ever pass clean, TorchSharp has fixed the lifetime and the analyzer's
    /// rules can be revisited.
    /// </summary>
    [Test]
    public void ImplicitScalarsFailUnderGCPressureAndHeldOnesDoNot()
    {
        var (ops, wrong, error, elapsed) = Hammer(held: false, TimeSpan.FromSeconds(60), untilWrong: true);
        TestContext.Out.WriteLine($"implicit: first failure after {ops} ops, {elapsed.TotalSeconds:F1} s: {error}");
        Assert.That(wrong, Is.Positive, $"{ops} ops with an implicit Scalar under GC pressure and none went wrong");
        var (heldOps, heldWrong, heldError, heldElapsed) = Hammer(held: true, TimeSpan.FromSeconds(3));
        TestContext.Out.WriteLine($"held: {heldOps} ops in {heldElapsed.TotalSeconds:F1} s, {heldWrong} wrong or failed");
        Assert.That(heldWrong, Is.Zero, heldError);
    }
}
