using D2.Operations.Aws.SageMaker;
using D2.Operations.Steps;
using D2.Operations.Pipeline;
using SkiaSharp;

namespace D2.Operations.Tests.Pipeline;

public class TrainingReportTests
{
    private const string MetricsJson = """
        {"data_time": 0.01, "iteration": 19, "lr": 0.001, "total_loss": 2.5, "loss_cls": 1.0}
        {"data_time": 0.01, "iteration": 39, "lr": 0.002, "total_loss": 1.75}
        {"bbox/AP": 12.5, "bbox/AP50": 30.0, "segm/AP": 10.0, "iteration": 39}
        {"iteration": 59, "total_loss": 1.25
        """;

    [Test]
    public void History_reads_loss_and_AP_and_skips_a_half_written_line()
    {
        var history = MetricsHistory.Parse(MetricsJson);
        Assert.That(history.TotalLoss, Is.EqualTo(new[] { (19, 2.5), (39, 1.75) }));
        Assert.That(history.AveragePrecision["bbox/AP"], Is.EqualTo(new[] { (39, 12.5) }));
        Assert.That(history.AveragePrecision["segm/AP"], Is.EqualTo(new[] { (39, 10.0) }));
    }

    [Test]
    public void Report_writes_markdown_with_the_metrics_table_a_decodable_curves_png_and_the_overlays()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"d2-report-{Guid.NewGuid():N}");
        try
        {
            var overlay = Path.Combine(Path.GetTempPath(), $"d2-overlay-{Guid.NewGuid():N}.png");
            File.WriteAllBytes(overlay, [0x89, (byte)'P', (byte)'N', (byte)'G']);
            var result = new TrainingResult(new DescribeTrainingJobResponse
            {
                TrainingJobName = "tiny-20260101-000000",
                TrainingJobArn = "arn:aws:sagemaker:us-east-1:000000000000:training-job/tiny-20260101-000000",
                TrainingJobStatus = TrainingJobStatus.Completed,
                SecondaryStatus = SecondaryStatus.Completed,
                HyperParameters = new Dictionary<string, string> { ["config-file"] = "Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml" },
            }, new Dictionary<string, double> { ["bbox/AP"] = 12.5, ["total_loss"] = 1.25 });

            var files = TrainingReport.Write(folder, result, MetricsHistory.Parse(MetricsJson), [("balloon_0000", overlay)]);

            var text = File.ReadAllText(files.Markdown);
            Assert.That(text, Does.Contain("## Training report: tiny-20260101-000000"));
            Assert.That(text, Does.Contain("`Misc/cpu_mask_rcnn_R_18_FPN_GN_small.yaml`"));
            // The loss comes before AP (TrainerMetrics' order), values as printed.
            Assert.That(text.IndexOf("| total_loss | 1.25 |", StringComparison.Ordinal), Is.LessThan(text.IndexOf("| bbox/AP | 12.5 |", StringComparison.Ordinal)).And.GreaterThan(0));
            Assert.That(text, Does.Contain("![loss and AP curves](curves.png)").And.Contain("![balloon_0000](overlays/balloon_0000.png)"));
            using var png = SKBitmap.Decode(files.Curves);
            Assert.That(png, Is.Not.Null);
            Assert.That((png.Width, png.Height), Is.EqualTo((800, 450)));
            Assert.That(File.Exists(Path.Combine(folder, "overlays", "balloon_0000.png")), Is.True);
            Assert.That(Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories), Is.Empty);
            File.Delete(overlay);
        }
        finally
        {
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }
    }
}
