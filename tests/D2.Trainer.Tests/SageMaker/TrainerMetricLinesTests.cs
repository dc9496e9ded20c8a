using D2.Detection.Engine;

namespace D2.Trainer.Tests.SageMaker;

/// <summary>
/// The contract's metric definitions (what CreateTrainingJob sends as MetricDefinitions) on the lines the trainer really
/// prints: Detectron2's CommonMetricPrinter for training, <see cref="TrainerMetrics.FormatEvaluationLine"/> for
/// evaluation. TrainingContainerTests runs them on a whole job's log as well.
/// </summary>
public class TrainerMetricLinesTests
{
    [Test]
    public void Every_loss_lr_and_time_of_a_Mask_RCNN_console_line_is_captured_with_the_printed_value()
    {
        var storage = new EventStorage();
        for (var t = 0; t < 20; t++)
        {
            storage.Iter = t;
            storage.PutScalar("data_time", 0.01);
            storage.PutScalar("time", 0.5);
            storage.PutScalar("total_loss", 2.0);
            storage.PutScalar("loss_cls", 0.7);
            storage.PutScalar("loss_box_reg", 0.2);
            storage.PutScalar("loss_mask", 0.69);
            storage.PutScalar("loss_rpn_cls", 0.3);
            storage.PutScalar("loss_rpn_loc", 0.11);
            storage.PutScalar("lr", 1.6068e-05 * (t + 1), smoothingHint: false);
        }
        var line = new CommonMetricPrinter(maxIter: 1000, new StringWriter()).FormatLine(storage)!;
        var values = TrainerMetrics.FinalValues([line]);

        Assert.That(values.Keys, Is.EquivalentTo(TrainerMetrics.Losses.Concat(["lr", "time", "data_time"])), line);
        Assert.Multiple(() =>
        {
            Assert.That(values["total_loss"], Is.EqualTo(2.0));
            Assert.That(values["loss_cls"], Is.EqualTo(0.7), "not loss_rpn_cls");
            Assert.That(values["loss_mask"], Is.EqualTo(0.69));
            Assert.That(values["loss_rpn_loc"], Is.EqualTo(0.11));
            Assert.That(values["time"], Is.EqualTo(0.5), "not last_time");
            Assert.That(values["data_time"], Is.EqualTo(0.01), "not last_data_time");
            Assert.That(values["lr"], Is.EqualTo(0.00032136).Within(1e-12), "5 significant digits of 20 x 1.6068e-05");
        });
    }

    [Test]
    public void The_evaluation_line_of_each_task_gives_its_six_metrics()
    {
        var metrics = new Dictionary<string, double> { ["AP"] = 71.4, ["AP50"] = 97.2, ["AP75"] = 80.1, ["APs"] = 10, ["APm"] = 60, ["APl"] = 75.5, ["AP-balloon"] = 71.4 };
        var lines = TrainerMetrics.EvaluationTasks.Select(task => TrainerMetrics.FormatEvaluationLine("balloon_val", task, metrics));
        var values = TrainerMetrics.FinalValues(lines);
        Assert.That(values.Keys, Is.EquivalentTo(TrainerMetrics.EvaluationTasks.SelectMany(task => TrainerMetrics.EvaluationMetrics.Select(m => $"{task}/{m}"))));
        Assert.That(values["segm/APl"], Is.EqualTo(75.5));
    }
}
