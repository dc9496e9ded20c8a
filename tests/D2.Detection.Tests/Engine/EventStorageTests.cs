using D2.Detection.Engine;

namespace D2.Detection.Tests.Engine;

public class EventStorageTests
{
    [Test]
    public void Smoothed_scalars_report_the_median_of_the_last_window_of_iterations()
    {
        var storage = new EventStorage();
        for (var t = 0; t < 30; t++)
        {
            storage.Iter = t;
            storage.PutScalar("loss", t);
            storage.PutScalar("lr", 0.1 * t, smoothingHint: false);
        }
        var latest = storage.LatestWithSmoothingHint(20);
        // Iterations 10..29: numpy's median of an even count is the mean of the two middle values.
        Assert.That(latest["loss"], Is.EqualTo((19.5, 29L)));
        Assert.That(latest["lr"].Value, Is.EqualTo(2.9).Within(1e-12));
        Assert.That(storage.Latest()["loss"], Is.EqualTo((29.0, 29L)));
        Assert.That(latest.Keys, Is.EqualTo(new[] { "loss", "lr" }), "first-put order");
    }

    [Test]
    public void Window_counts_iterations_not_samples()
    {
        var storage = new EventStorage();
        // "time" put only every third iteration: the last 20 iterations hold 7 samples.
        for (var t = 0; t < 60; t += 3)
            storage.PutScalar("time", t, curIter: t);
        Assert.That(storage.CountSamples("time", 20), Is.EqualTo(7));
        Assert.That(storage.LatestWithSmoothingHint(20)["time"].Value, Is.EqualTo(48.0));
    }

    [Test]
    public void History_keeps_a_global_average_past_its_capacity()
    {
        var history = new HistoryBuffer(maxLength: 5);
        for (var i = 1; i <= 12; i++)
            history.Update(i, i);
        Assert.That(history.Values().Select(v => v.Value), Is.EqualTo(new double[] { 8, 9, 10, 11, 12 }));
        Assert.That(history.GlobalAverage(), Is.EqualTo(6.5).Within(1e-12));
        Assert.That(history.Median(3), Is.EqualTo(11.0));
        Assert.That(history.Average(100), Is.EqualTo(10.0));
        Assert.That(history.Latest(), Is.EqualTo(12.0));
    }

    [Test]
    public void A_scalar_keeps_the_smoothing_hint_it_was_first_put_with()
    {
        var storage = new EventStorage();
        storage.PutScalar("lr", 0.1, smoothingHint: false);
        Assert.That(() => storage.PutScalar("lr", 0.2), Throws.InvalidOperationException.With.Message.Contains("smoothing_hint"));
        Assert.That(() => storage.History("nothing"), Throws.InstanceOf<KeyNotFoundException>());
    }
}
