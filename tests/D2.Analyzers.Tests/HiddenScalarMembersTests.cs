using D2.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace D2.Analyzers.Tests;

/// <summary>The analyzer's list of TorchSharp members against the TorchSharp the product references.</summary>
public class HiddenScalarMembersTests
{
    [Test]
    public void TheListIsWhatTorchSharpsILSays()
    {
        var scanned = HiddenScalarScan.Run(typeof(TorchSharp.Scalar).Assembly);
        var listed = ScalarLifetimeAnalyzer.HiddenScalarMembers;
        var missing = scanned.Except(listed).ToList();
        var extra = listed.Except(scanned).ToList();
        if (missing.Count + extra.Count > 0)
        {
            // After a TorchSharp upgrade: review the difference, then copy this file over analyzers/D2.Analyzers/HiddenScalarMembers.txt (keeping its header).
            var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "HiddenScalarMembers.scanned.txt");
            File.WriteAllLines(path, scanned);
            TestContext.Out.WriteLine($"scanned list written to {path}");
        }
        Assert.Multiple(() =>
        {
            Assert.That(missing, Is.Empty, "made by TorchSharp but not in HiddenScalarMembers.txt");
            Assert.That(extra, Is.Empty, "in HiddenScalarMembers.txt but no longer made by TorchSharp");
        });
    }

    [Test]
    public void EveryIdNamesATorchSharpMember()
    {
        var compilation = CSharpCompilation.Create("Ids", references: [MetadataReference.CreateFromFile(typeof(TorchSharp.Scalar).Assembly.Location),
            .. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator).Where(p => p.Contains("System.", StringComparison.Ordinal) || p.EndsWith("netstandard.dll", StringComparison.Ordinal)).Select(p => MetadataReference.CreateFromFile(p))]);
        var unresolved = ScalarLifetimeAnalyzer.HiddenScalarMembers.Where(id => DocumentationCommentId.GetFirstSymbolForDeclarationId(id, compilation) is null).ToList();
        Assert.That(unresolved, Is.Empty);
    }

    [TestCase("M:TorchSharp.torch.Tensor.op_Addition(TorchSharp.torch.Tensor,TorchSharp.torch.Tensor)")]
    [TestCase("M:TorchSharp.torch.Tensor.add(TorchSharp.torch.Tensor)")]
    [TestCase("M:TorchSharp.torch.Tensor.op_Multiply(TorchSharp.torch.Tensor,System.Double)")]
    [TestCase("M:TorchSharp.Modules.SGD.step(System.Func{TorchSharp.torch.Tensor})")]
    public void KnownHiddenScalarsAreListed(string id) => Assert.That(ScalarLifetimeAnalyzer.HiddenScalarMembers, Does.Contain(id));

    [TestCase("M:TorchSharp.torch.Tensor.op_Subtraction(TorchSharp.torch.Tensor,TorchSharp.torch.Tensor)")]
    [TestCase("M:TorchSharp.torch.Tensor.mul(TorchSharp.Scalar)")]
    [TestCase("M:TorchSharp.torch.Tensor.add(TorchSharp.torch.Tensor,TorchSharp.Scalar)")]
    public void OpsThatOnlyReadTheirScalarsAreNotListed(string id) => Assert.That(ScalarLifetimeAnalyzer.HiddenScalarMembers, Does.Not.Contain(id));
}
