using System.Globalization;
using System.Xml.Linq;

namespace D2.Build.Tools;

/// <summary>Totals over the TRX files a test run wrote: the numbers behind the closing "N passed, N failed" line.</summary>
public sealed record TestResultSummary(int Passed, int Failed, int Skipped, int Files)
{
    public static TestResultSummary FromTrxDirectory(string directory)
    {
        int passed = 0, failed = 0, skipped = 0, files = 0;
        foreach (var file in Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*.trx", SearchOption.AllDirectories) : [])
        {
            var counters = XDocument.Load(file).Descendants().FirstOrDefault(e => e.Name.LocalName == "Counters")
                ?? throw new Engine.BuildFailedException($"Test results file '{file}' has no <Counters> element.");
            int Count(string name) => int.Parse(counters.Attribute(name)?.Value ?? "0", CultureInfo.InvariantCulture);
            passed += Count("passed");
            failed += Count("failed") + Count("error") + Count("timeout") + Count("aborted");
            skipped += Count("notExecuted") + Count("inconclusive");
            files++;
        }
        return new TestResultSummary(passed, failed, skipped, files);
    }

    public override string ToString() => $"Tests: {Passed} passed, {Failed} failed, {Skipped} skipped";
}
