using System.Reflection;
using System.Xml.Linq;

namespace D2.MLOps.Tests;

/// <summary>
/// Runs the module's Pester 6 specification (Pester/*.Tests.ps1) in a real pwsh process and fails with each failed
/// Pester test's name and message; Pester's own NUnit report is the source of the counts.
/// </summary>
[TestFixture]
public sealed class PesterSuiteTests
{
    private static string PesterManifest =>
        typeof(PesterSuiteTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "PesterManifest").Value!;

    [Test]
    public async Task ThePesterSpecificationPasses()
    {
        Assert.That(File.Exists(PesterManifest), Is.True, $"Pester is restored by the test project's PackageDownload: {PesterManifest}");
        var report = Path.Combine(Path.GetTempPath(), $"d2-pester-{Guid.NewGuid():N}.xml");
        var specs = Path.Combine(Pwsh.RepositoryRoot, "tests", "D2.MLOps.Tests", "Pester");
        try
        {
            var run = await Pwsh.RunAsync($$"""
                Remove-Module D2.MLOps
                $env:D2_MLOPS_MODULE = '{{Pwsh.ModuleFolder}}/D2.MLOps.psd1'
                Import-Module {{Pwsh.Quote(PesterManifest)}}
                $configuration = New-PesterConfiguration
                $configuration.Run.Path = {{Pwsh.Quote(specs)}}
                $configuration.Run.Exit = $false
                $configuration.Output.Verbosity = 'Detailed'
                $configuration.TestResult.Enabled = $true
                $configuration.TestResult.OutputFormat = 'NUnitXml'
                $configuration.TestResult.OutputPath = {{Pwsh.Quote(report)}}
                $ErrorActionPreference = 'Continue'
                Invoke-Pester -Configuration $configuration
                """, TimeSpan.FromMinutes(4));
            Assert.That(File.Exists(report), Is.True, $"Pester wrote no report.\nstdout:\n{run.Output}\nstderr:\n{run.Errors}");
            var results = XDocument.Load(report).Root!;
            var cases = results.Descendants("test-case").ToList();
            var failed = cases.Where(c => (string?)c.Attribute("result") is not ("Success" or "Ignored" or "Inconclusive"))
                .Select(c => $"{c.Attribute("name")?.Value}: {c.Descendants("message").FirstOrDefault()?.Value}")
                .ToList();
            Assert.That(failed, Is.Empty, $"Pester failures:\n{string.Join("\n", failed)}\n\nstdout:\n{run.Output}");
            Assert.That(cases.Count(c => (string?)c.Attribute("result") == "Success"), Is.GreaterThanOrEqualTo(15), run.Output);
        }
        finally
        {
            File.Delete(report);
        }
    }
}
