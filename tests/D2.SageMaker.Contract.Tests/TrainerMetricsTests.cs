using System.Text.RegularExpressions;

namespace D2.SageMaker.Contract.Tests;

/// <summary>
/// The metric definitions on the trainer's lines in CommonMetricPrinter's exact format (D2.Trainer.Tests runs them on
/// the printer itself and on a real training job's log).
/// </summary>
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

    [Test]
    public void Faster_RCNN_lines_scientific_losses_and_long_etas_are_read_and_the_last_value_wins()
    {
        // CommonMetricPrinter's own lines (D2.Detection.Tests pins them): no loss_mask, a loss printed as 1e-05, no max_mem on CPU.
        string[] lines =
        [
            " eta: 0:04:05  iter: 19  total_loss: 1.95  loss_cls: 1e-05    time: 0.2500  last_time: 0.2500  data_time: 0.5000  last_data_time: 0.5000   lr: 0.02  max_mem: 2745M",
            " eta: 1 day, 2:03:04  iter: 39  total_loss: 1.234  loss_cls: 0.3  loss_box_reg: 0.2  loss_rpn_cls: 0.1  loss_rpn_loc: 0.05    time: 0.3000  last_time: 0.2900  data_time: 0.0100  last_data_time: 0.0090   lr: 0.0002  ",
            "[eval] balloon_val bbox/AP=71.4012 bbox/AP50=97.2000 bbox/AP75=80.1000 bbox/APs=nan bbox/APm=60.0000 bbox/APl=75.5000",
        ];
        var values = TrainerMetrics.FinalValues(lines);
        Assert.Multiple(() =>
        {
            Assert.That(values["total_loss"], Is.EqualTo(1.234));
            Assert.That(values["loss_cls"], Is.EqualTo(0.3));
            Assert.That(values["loss_rpn_loc"], Is.EqualTo(0.05));
            Assert.That(values, Does.Not.ContainKey("loss_mask"));
            Assert.That(values["lr"], Is.EqualTo(0.0002));
            Assert.That(values["time"], Is.EqualTo(0.3));
            Assert.That(values["bbox/AP"], Is.EqualTo(71.4012));
            Assert.That(values["bbox/APl"], Is.EqualTo(75.5));
            Assert.That(values, Does.Not.ContainKey("bbox/APs"), "nan gives no value");
        });
        var first = TrainerMetrics.FinalValues(lines[..1]);
        Assert.That(first["loss_cls"], Is.EqualTo(1e-05));
    }

    [Test]
    public void Capture_refuses_a_definition_without_a_value_group_naming_it()
    {
        var error = Assert.Throws<ArgumentException>(() => new MetricCapture([new MetricDefinition("loss", " loss: [0-9.]+")]))!;
        Assert.That(error.Message, Does.Contain("'loss'").And.Contain("capture group"));
        Assert.That(Assert.Throws<ArgumentException>(() => new MetricCapture([new MetricDefinition("bad", "(")]))!.Message, Does.Contain("'bad'"));
    }
}
