using D2.Detection.Engine;

namespace D2.Detection.Tests.Engine;

/// <summary>metrics.json and the console line in Detectron2's exact text (spec §19.4, §19.5).</summary>
public class MetricWritersTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("d2-writers-").FullName;

    [TearDown]
    public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

    /// <summary>Twenty iterations of a run: losses 1.0..2.9 (median 1.95), data_time 0.5, lr rising, time from iteration 2.</summary>
    static EventStorage TwentyIterations()
    {
        var storage = new EventStorage();
        for (var t = 0; t < 20; t++)
        {
            storage.Iter = t;
            storage.PutScalar("rpn/num_pos_anchors", 9);
            storage.PutScalar("data_time", 0.5);
            storage.PutScalar("total_loss", 1.0 + t * 0.1);
            storage.PutScalar("loss_cls", 1e-5);
            if (t >= 2)
                storage.PutScalar("time", 0.25);
            storage.PutScalar("lr", 0.001 * (t + 1), smoothingHint: false);
        }
        return storage;
    }

    [Test]
    public void Json_line_has_sorted_keys_iteration_medians_and_latest_lr_as_python_writes_them()
    {
        var path = Path.Combine(_folder, "metrics.json");
        var storage = TwentyIterations();
        using (var writer = new JsonWriter(path))
            writer.Write(storage);
        Assert.That(File.ReadAllText(path), Is.EqualTo(
            """{"data_time": 0.5, "iteration": 19, "loss_cls": 1e-05, "lr": 0.02, "rpn/num_pos_anchors": 9.0, "time": 0.25, "total_loss": 1.95}""" + "\n"));
    }

    [Test]
    public void Json_writer_writes_only_new_iterations_and_puts_later_results_on_their_own_line()
    {
        var path = Path.Combine(_folder, "metrics.json");
        var storage = TwentyIterations();
        using (var writer = new JsonWriter(path))
        {
            writer.Write(storage);
            writer.Write(storage);
            // The evaluation after training is stored at iteration MAX_ITER (20 here).
            storage.Iter = 20;
            storage.PutScalar("bbox/AP", 41.25, smoothingHint: false);
            storage.PutScalar("bbox/AP-café", double.NaN, smoothingHint: false);
            writer.Write(storage);
        }
        var lines = File.ReadAllLines(path);
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines[1], Is.EqualTo("""{"bbox/AP": 41.25, "bbox/AP-caf\u00e9": NaN, "iteration": 20}"""));
    }

    [Test]
    public void Reopening_metrics_json_appends_after_dropping_a_line_cut_short_by_a_crash()
    {
        var path = Path.Combine(_folder, "metrics.json");
        File.WriteAllText(path, "{\"iteration\": 19, \"lr\": 0.02}\n{\"iteration\": 39, \"lr\"");
        var storage = new EventStorage(40);
        storage.PutScalar("lr", 0.5, smoothingHint: false);
        using (var writer = new JsonWriter(path))
            writer.Write(storage);
        Assert.That(File.ReadAllLines(path), Is.EqualTo(new[] { "{\"iteration\": 19, \"lr\": 0.02}", "{\"iteration\": 40, \"lr\": 0.5}" }));
    }

    [Test]
    public void Console_line_matches_CommonMetricPrinter()
    {
        var storage = TwentyIterations();
        var output = new StringWriter();
        new CommonMetricPrinter(maxIter: 1000, output, maxMemoryMiB: () => 2745.4).Write(storage);
        // eta = median(time) x (1000 - 19 - 1) = 245 s; losses are 4 significant digits; lr 5; times 4 decimals.
        Assert.That(output.ToString(), Is.EqualTo(
            " eta: 0:04:05  iter: 19  total_loss: 1.95  loss_cls: 1e-05    time: 0.2500  last_time: 0.2500  data_time: 0.5000  last_data_time: 0.5000   lr: 0.02  max_mem: 2745M"
            + Environment.NewLine));
        Assert.That(storage.Latest()["eta_seconds"], Is.EqualTo((245.0, 19L)));
    }

    [Test]
    public void Console_printer_is_silent_after_training_and_omits_what_is_not_measured()
    {
        var storage = new EventStorage(5);
        storage.PutScalar("total_loss", 0.123456);
        var printer = new CommonMetricPrinter(maxIter: null, new StringWriter());
        Assert.That(printer.FormatLine(storage), Is.EqualTo(" iter: 5  total_loss: 0.1235     lr: N/A  "));
        storage.Iter = 10;
        Assert.That(new CommonMetricPrinter(maxIter: 10, new StringWriter()).FormatLine(storage), Is.Null);
    }

    [Test]
    public void Python_formats_match_for_general_fixed_and_timedelta()
    {
        Assert.That(new[] { 0.7295123, 1.6068e-05, 123456.0, 0.0001, 2.0, double.NaN }.Select(v => PythonFormat.General(v, 4)),
            Is.EqualTo(new[] { "0.7295", "1.607e-05", "1.235e+05", "0.0001", "2", "nan" }));
        Assert.That(new long[] { 0, 138, 86_399, 86_400, 200_000 }.Select(PythonFormat.TimeDelta),
            Is.EqualTo(new[] { "0:00:00", "0:02:18", "23:59:59", "1 day, 0:00:00", "2 days, 7:33:20" }));
    }
}
