using System.Collections.Immutable;
using D2.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace D2.Analyzers.Tests;

/// <summary>The analyzer over small samples compiled against the TorchSharp the product uses.</summary>
public class ScalarLifetimeAnalyzerTests
{
    const string Prelude = """
        using TorchSharp;
        using static TorchSharp.torch;
        static class Held { public static readonly Scalar Half = 0.5.ToScalar(); }
        static class Sample
        {
            static Tensor Run(Tensor t, Tensor u, double runtime)
            {
        """;
    const string Epilogue = """
            }
        }
        """;

    [TestCase("return t * 0.5;", "D2S002")]
    [TestCase("return t.mul(0.5);", "D2S001")]
    [TestCase("return t.clamp(min: 0);", "D2S001")]
    [TestCase("return t.gt(runtime);", "D2S001")]
    [TestCase("return t.masked_fill(u.gt(Held.Half), 0);", "D2S001")]
    [TestCase("return full(new long[] { 2 }, 1.0);", "D2S001")]
    [TestCase("return t + u;", "D2S002")]
    [TestCase("return t.add(u);", "D2S002")]
    [TestCase("t.add_(u); return t;", "D2S002")]
    [TestCase("return arange(3, ScalarType.Int64);", "D2S001", "D2S002")]
    [TestCase("return t.mul(runtime.ToScalar());", "D2S001")]
    [TestCase("var s = runtime.ToScalar(); return t.mul(s);", "D2S001")]
    [TestCase("t.fill_(0); return t;", "D2S001")]
    [TestCase("var o = optim.SGD(new[] { new TorchSharp.Modules.Parameter(t) }, 0.1); return t;", "D2S002")]
    [TestCase("t += u; return t;", "D2S002")]
    [TestCase("var v = (double)t.sum(); return t;", "D2S002")]
    [TestCase("var v = t.sum().ToDouble(); return t;", "D2S002")]
    [TestCase("var s = t.sum().ToScalar(); return t;", "D2S001")]
    public void FlagsTheUnheldAndHiddenScalars(string body, params string[] expected)
    {
        var ids = Analyze(Prelude + body + Epilogue);
        Assert.That(ids.Distinct(), Is.EquivalentTo(expected.Distinct()), string.Join("\n", ids));
    }

    [TestCase("using var s = runtime.ToScalar(); return t.mul(s);")]
    [TestCase("using Scalar s = runtime, one = 1; return t.add(s, one);")]
    [TestCase("using (var s = 0.5.ToScalar()) { return t.mul(s); }")]
    [TestCase("return t.mul(Held.Half).add(u, Held.Half);")]
    [TestCase("return t - u;")]
    [TestCase("return t * u / u;")]
    [TestCase("return t.sub(Held.Half).clamp(max: Held.Half);")]
    [TestCase("return t.nan_to_num(0.0, 0.0, 0.0);")]
    [TestCase("var v = t.sum().item<double>(); return t;")]
    [TestCase("using var s = t.sum().ToScalar(); return t.mul(s);")]
    [TestCase("using Scalar a = 0, b = 3, c = 1; return arange(a, b, c, ScalarType.Int64);")]
    public void AcceptsHeldScalars(string body)
    {
        var ids = Analyze(Prelude + body + Epilogue);
        Assert.That(ids, Is.Empty, string.Join("\n", ids));
    }

    [Test]
    public void NoDiagnosticsWithoutTorchSharp()
    {
        var ids = Analyze("static class C { static double F(double x) => x * 0.5; }", withTorch: false);
        Assert.That(ids, Is.Empty);
    }

    [Test]
    public void TheMessageSaysWhatToDo()
    {
        var diagnostics = AnalyzeDiagnostics(Prelude + "return t.mul(runtime);" + Epilogue, withTorch: true);
        var message = diagnostics.Single().GetMessage(System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(message, Does.Contain("'runtime'").And.Contain("using var s = value.ToScalar();").And.Contain("TorchScalars"));
    }

    static List<string> Analyze(string source, bool withTorch = true) =>
        AnalyzeDiagnostics(source, withTorch).Select(d => d.Id + " " + d.GetMessage(System.Globalization.CultureInfo.InvariantCulture)).Select(s => s[..6]).ToList();

    internal static ImmutableArray<Diagnostic> AnalyzeDiagnostics(string source, bool withTorch)
    {
        var references = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => withTorch || !Path.GetFileName(p).StartsWith("TorchSharp", StringComparison.Ordinal))
            .Select(p => MetadataReference.CreateFromFile(p));
        var compilation = CSharpCompilation.Create("Sample", [CSharpSyntaxTree.ParseText(source)], references,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Assert.That(errors, Is.Empty, "the sample compiles: " + string.Join("\n", errors));
        return compilation.WithAnalyzers([new ScalarLifetimeAnalyzer()]).GetAnalyzerDiagnosticsAsync().Result;
    }
}
