using D2.Build.Tools;

namespace D2.Build.Tests;

public class TestResultSummaryTests
{
    [Test]
    public void Totals_add_up_over_every_trx_file_in_the_folder()
    {
        var folder = Directory.CreateTempSubdirectory("trx-").FullName;
        try
        {
            WriteTrx(Path.Combine(folder, "a.trx"), passed: 7, failed: 1, notExecuted: 2);
            Directory.CreateDirectory(Path.Combine(folder, "nested"));
            WriteTrx(Path.Combine(folder, "nested", "b.trx"), passed: 5, failed: 0, notExecuted: 0);
            var summary = TestResultSummary.FromTrxDirectory(folder);
            Assert.That(summary, Is.EqualTo(new TestResultSummary(12, 1, 2, 2)));
            Assert.That(summary.ToString(), Is.EqualTo("Tests: 12 passed, 1 failed, 2 skipped"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void A_missing_folder_counts_nothing() =>
        Assert.That(TestResultSummary.FromTrxDirectory("/nonexistent/trx"), Is.EqualTo(new TestResultSummary(0, 0, 0, 0)));

    // The shape VSTest's TRX logger writes (ResultSummary/Counters in the 2010 TeamTest namespace).
    static void WriteTrx(string path, int passed, int failed, int notExecuted) => File.WriteAllText(path, $"""
        <?xml version="1.0" encoding="utf-8"?>
        <TestRun id="1" name="run" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
          <ResultSummary outcome="{(failed > 0 ? "Failed" : "Completed")}">
            <Counters total="{passed + failed + notExecuted}" executed="{passed + failed}" passed="{passed}" failed="{failed}" error="0" timeout="0" aborted="0" inconclusive="0" passedButRunAborted="0" notRunnable="0" notExecuted="{notExecuted}" disconnected="0" warning="0" completed="0" inProgress="0" pending="0" />
          </ResultSummary>
        </TestRun>
        """);
}
