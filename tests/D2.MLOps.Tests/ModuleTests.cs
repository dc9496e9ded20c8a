using System.Text.Json;

namespace D2.MLOps.Tests;

/// <summary>The module as a user imports it: exports, help, formats.</summary>
[TestFixture]
public sealed class ModuleTests
{
    private static readonly string[] CommonParameters =
        ["Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable",
         "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable", "WhatIf", "Confirm"];

    [Test]
    public async Task ManifestExportsExactlyTheCmdletClasses()
    {
        var result = await Pwsh.RunAsync("""
            $manifest = Import-PowerShellDataFile (Join-Path (Get-Module D2.MLOps).ModuleBase 'D2.MLOps.psd1')
            $classes = [D2.MLOps.Help.MamlWriter]::Cmdlets([D2.MLOps.Help.MamlWriter].Assembly) | ForEach-Object { $_.Item1 }
            @{ manifest = @($manifest.CmdletsToExport); classes = @($classes); exported = @((Get-Module D2.MLOps).ExportedCmdlets.Keys) } | ConvertTo-Json -Compress
            """, TimeSpan.FromMinutes(1));
        var json = result.Json();
        string[] Names(string key) => json.GetProperty(key).EnumerateArray().Select(e => e.GetString()!).Order(StringComparer.Ordinal).ToArray();
        Assert.That(Names("classes"), Has.Length.EqualTo(11));
        Assert.That(Names("manifest"), Is.EqualTo(Names("classes")), "CmdletsToExport vs the cmdlet classes");
        Assert.That(Names("exported"), Is.EqualTo(Names("classes")), "what Import-Module exports");
        Assert.That(Names("manifest"), Has.None.Contains("*"));
    }

    [Test]
    public async Task EveryCmdletHasFullHelpWithTwoExamples()
    {
        var result = await Pwsh.RunAsync("""
            $report = foreach ($command in (Get-Command -Module D2.MLOps)) {
                $help = Get-Help $command.Name -Full
                [pscustomobject]@{
                    Name = $command.Name
                    Synopsis = "$($help.Synopsis)"
                    Description = "$($help.description.Text)"
                    Examples = @($help.examples.example).Count
                    ExampleCode = @($help.examples.example | ForEach-Object { "$($_.code)" })
                    Parameters = @($command.Parameters.Keys)
                    Documented = @($help.parameters.parameter | Where-Object { "$($_.description.Text)".Trim() } | ForEach-Object { $_.name })
                    Text = ($help | Out-String -Width 250)
                }
            }
            ConvertTo-Json @($report) -Compress -Depth 4
            """, TimeSpan.FromMinutes(1));
        var commands = result.Json().EnumerateArray().ToList();
        Assert.That(commands, Has.Count.EqualTo(11));
        foreach (var command in commands)
        {
            var name = command.GetProperty("Name").GetString()!;
            Assert.Multiple(() =>
            {
                Assert.That(command.GetProperty("Synopsis").GetString(), Does.Not.StartWith(name).And.Length.GreaterThan(15), $"{name} synopsis");
                Assert.That(command.GetProperty("Description").GetString(), Has.Length.GreaterThan(60), $"{name} description");
                Assert.That(command.GetProperty("Examples").GetInt32(), Is.GreaterThanOrEqualTo(2), $"{name} examples");
                foreach (var code in command.GetProperty("ExampleCode").EnumerateArray())
                    Assert.That(code.GetString(), Does.Contain("D2"), $"{name} example code");
                var documented = command.GetProperty("Documented").EnumerateArray().Select(e => e.GetString()).ToHashSet();
                foreach (var parameter in command.GetProperty("Parameters").EnumerateArray().Select(e => e.GetString()!).Except(CommonParameters))
                    Assert.That(documented, Does.Contain(parameter), $"{name} -{parameter} is documented");
                Assert.That(command.GetProperty("Text").GetString(), Does.Contain("EXAMPLE 2").IgnoreCase.Or.Contain("Example 2"), $"{name} Get-Help -Full text");
            });
        }
    }

    [Test]
    public async Task GpuArchitectureMatrixAndUnknownInstanceType()
    {
        var result = await Pwsh.RunAsync("""
            $all = Get-D2GpuArchitecture
            $one = Get-D2GpuArchitecture -InstanceType ml.g5.xlarge
            $category = try { Get-D2GpuArchitecture -InstanceType ml.nope.xlarge; 'none' } catch { "$($_.CategoryInfo.Category)" }
            @{ names = @($all.Name); g5 = $one.Name; cpu = (Get-D2GpuArchitecture ml.m5.xlarge).TorchBackend; category = $category } | ConvertTo-Json -Compress
            """, TimeSpan.FromMinutes(1));
        var json = result.Json();
        var repoMatrix = JsonDocument.Parse(File.ReadAllText(Path.Combine(Pwsh.RepositoryRoot, "build", "gpu-archs.json"))).RootElement;
        Assert.That(json.GetProperty("names").GetArrayLength(), Is.GreaterThan(1));
        Assert.That(json.GetProperty("g5").GetString(), Is.EqualTo("ampere"));
        Assert.That(json.GetProperty("cpu").GetString(), Is.EqualTo("cpu"));
        Assert.That(json.GetProperty("category").GetString(), Is.EqualTo("InvalidArgument"));
        Assert.That(repoMatrix.ToString(), Does.Contain("ampere"));
    }
}
