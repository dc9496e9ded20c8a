using System.Text.RegularExpressions;

namespace D2.Trainer.Tests.SageMaker;

/// <summary>The regexes on hand-written lines in the printer's exact format; the end-to-end test runs them on real output.</summary>
public class TrainerMetricsTests
{
    const string TrainingLine = " eta: 0:02:18  iter: 19  total_loss: 2.078  loss_cls: 0.7295  loss_box_reg: 0.1022  loss_mask: 0.6931  "
        + "loss_rpn_cls: 0.6926  loss_rpn_loc: 0.0412    time: 0.4826  last_time: 0.4583  data_time: 0.0250  last_data_time: 0.0033   lr: 1.6068e-05  ";

    [Test]
    public void Training_line_values_are_captured_without_confusing_similar_names()
    {
        var values = TrainerMetrics.FinalValues([TrainingLine]);
        Assert.Multiple(() =>
        {
            Assert.That(values["total_loss"], Is.EqualTo(2.078));
            Assert.That(values["loss_cls"], Is.EqualTo(0.7295), "not loss_rpn_cls");
            Assert.That(values["loss_rpn_cls"], Is.EqualTo(0.6926));
            Assert.That(values["time"], Is.EqualTo(0.4826), "not last_time or data_time");
            Assert.That(values["data_time"], Is.EqualTo(0.0250), "not last_data_time");
            Assert.That(values["lr"], Is.EqualTo(1.6068e-05));
        });
    }

    [Test]
    public void Evaluation_lines_round_trip_and_nan_gives_no_value()
    {
        var line = TrainerMetrics.FormatEvaluationLine("balloon_val", "segm",
            new Dictionary<string, double> { ["AP"] = 73.41234, ["AP50"] = 96.7, ["AP75"] = 80, ["APs"] = double.NaN, ["AP-balloon"] = 73.4 });
        Assert.That(line, Is.EqualTo("[eval] balloon_val segm/AP=73.4123 segm/AP50=96.7000 segm/AP75=80.0000 segm/APs=nan"));
        var values = TrainerMetrics.FinalValues([line]);
        Assert.That(values, Is.EquivalentTo(new Dictionary<string, double> { ["segm/AP"] = 73.4123, ["segm/AP50"] = 96.7, ["segm/AP75"] = 80 }));
    }

    [Test]
    public void Definitions_fit_SageMakers_limits_and_have_one_capture_group()
    {
        Assert.That(TrainerMetrics.Definitions, Has.Count.LessThanOrEqualTo(40));
        foreach (var definition in TrainerMetrics.Definitions)
        {
            Assert.That(definition.Name.Length, Is.InRange(1, 255));
            Assert.That(definition.Regex.Length, Is.InRange(1, 500));
            Assert.That(new Regex(definition.Regex).GetGroupNumbers(), Has.Length.EqualTo(2), definition.Regex);
        }
        Assert.That(TrainerMetrics.Definitions.Select(d => d.Name), Is.Unique);
    }
}
