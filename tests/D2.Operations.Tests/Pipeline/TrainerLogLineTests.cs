using D2.Operations.Pipeline;

namespace D2.Operations.Tests.Pipeline;

public class TrainerLogLineTests
{
    [Test]
    public void CommonMetricPrinter_line_gives_completed_iterations_loss_and_eta()
    {
        const string line = "[05/01 10:00:00 d2.utils.events]:  eta: 0:02:18  iter: 19  total_loss: 2.078  loss_cls: 0.7295  time: 0.4826  last_time: 0.4583   lr: 1.6068e-05  max_mem: 2745M";
        Assert.That(TrainerLogLine.TryParse(line, out var parsed), Is.True);
        Assert.That(parsed.Completed, Is.EqualTo(20));
        Assert.That(parsed.TotalLoss, Is.EqualTo(2.078));
        Assert.That(parsed.Eta, Is.EqualTo(new TimeSpan(0, 2, 18)));
    }

    [Test]
    public void Eta_over_a_day_reads_pythons_timedelta_text()
    {
        Assert.That(TrainerLogLine.TryParse(" eta: 2 days, 3:04:05  iter: 99999  total_loss: 1e-3", out var parsed), Is.True);
        Assert.That(parsed.Eta, Is.EqualTo(new TimeSpan(2, 3, 4, 5)));
        Assert.That(parsed.TotalLoss, Is.EqualTo(0.001));
    }

    [TestCase("[eval] balloon_val bbox/AP=12.5000")]
    [TestCase("max_iter: 300 in the config")]
    [TestCase("")]
    public void Other_lines_are_not_progress(string line) => Assert.That(TrainerLogLine.TryParse(line, out _), Is.False);
}
