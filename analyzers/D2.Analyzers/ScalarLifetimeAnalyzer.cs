using System.Collections.Immutable;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace D2.Analyzers;

/// <summary>
/// TorchSharp 0.107's Scalar owns a native c10::Scalar through a bare IntPtr and frees it in its finalizer; TorchSharp reads
/// the IntPtr and calls libtorch without keeping the Scalar alive (no GC.KeepAlive, no SafeHandle, no DisposeScope). A
/// Scalar that nothing references after that read can be finalized by the GC while libtorch still reads it (TorchSharp
/// issues #1434, #1496): a random "Unknown scalar type", a crash, or a wrong value. This analyzer makes the build refuse
/// the two ways such a Scalar arises: one created in our code without a holder (D2S001), and a TorchSharp member that
/// creates one inside (D2S002; the list is HiddenScalarMembers.txt, found by scanning TorchSharp's IL).
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ScalarLifetimeAnalyzer : DiagnosticAnalyzer
{
    public const string UnheldScalarId = "D2S001";
    public const string HiddenScalarId = "D2S002";

    private const string Category = "Reliability";
    private const string HelpLink = "https://github.com/dotnet/TorchSharp/issues/1434";

    internal static readonly DiagnosticDescriptor UnheldScalar = new(
        UnheldScalarId,
        "TorchSharp Scalar without a holder",
        "A TorchSharp Scalar made from {0} here is held by nothing, so the GC can finalize it while libtorch reads it: use a "
        + "cached constant (D2.Detection.TorchScalars) or `using var s = value.ToScalar();` and pass s",
        Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLink);

    internal static readonly DiagnosticDescriptor HiddenScalar = new(
        HiddenScalarId,
        "TorchSharp member that makes a Scalar the GC can finalize",
        "'{0}' makes a TorchSharp Scalar inside that the GC can finalize while libtorch reads it: call an overload that takes "
        + "Scalars you hold, such as a.add(b, TorchScalars.One) for a + b and a.mul(s) for a * 0.5, or the D2 replacement",
        Category, DiagnosticSeverity.Warning, isEnabledByDefault: true, helpLinkUri: HelpLink);

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(UnheldScalar, HiddenScalar);

    /// <summary>Documentation ids of TorchSharp's public members that create a Scalar they do not keep alive.</summary>
    internal static ImmutableHashSet<string> HiddenScalarMembers { get; } = LoadHiddenScalarMembers();

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var scalar = start.Compilation.GetTypeByMetadataName("TorchSharp.Scalar");
            if (scalar is null)
                return; // The project does not use TorchSharp.
            start.RegisterOperationAction(c => AnalyzeConversion(c, scalar), OperationKind.Conversion);
            start.RegisterOperationAction(c => AnalyzeInvocation(c, scalar), OperationKind.Invocation);
            start.RegisterOperationAction(c => ReportHidden(c, ((IBinaryOperation)c.Operation).OperatorMethod), OperationKind.Binary);
            start.RegisterOperationAction(c => ReportHidden(c, ((ICompoundAssignmentOperation)c.Operation).OperatorMethod), OperationKind.CompoundAssignment);
            start.RegisterOperationAction(c => ReportHidden(c, ((IUnaryOperation)c.Operation).OperatorMethod), OperationKind.Unary);
            start.RegisterOperationAction(c => ReportHidden(c, ((IObjectCreationOperation)c.Operation).Constructor), OperationKind.ObjectCreation);
            start.RegisterOperationAction(c => ReportHidden(c, ((IMethodReferenceOperation)c.Operation).Method), OperationKind.MethodReference);
        });
    }

    private static void AnalyzeConversion(OperationAnalysisContext context, INamedTypeSymbol scalar)
    {
        var conversion = (IConversionOperation)context.Operation;
        if (conversion.OperatorMethod is not { } method)
            return;
        if (!SymbolEqualityComparer.Default.Equals(method.ContainingType, scalar) || !SymbolEqualityComparer.Default.Equals(conversion.Type, scalar))
        {
            ReportHidden(context, method); // (double)tensor reads the value through a Scalar it drops
            return;
        }
        if (!IsHeld(conversion))
            context.ReportDiagnostic(Diagnostic.Create(UnheldScalar, conversion.Syntax.GetLocation(), Describe(conversion.Operand)));
    }

    /// <summary>A TorchSharp method returning a Scalar (x.ToScalar(), t.ToScalar()) makes one the caller must hold.</summary>
    private static void AnalyzeInvocation(OperationAnalysisContext context, INamedTypeSymbol scalar)
    {
        var invocation = (IInvocationOperation)context.Operation;
        var method = invocation.TargetMethod;
        if (SymbolEqualityComparer.Default.Equals(method.ReturnType, scalar) && method.ContainingAssembly?.Name == "TorchSharp")
        {
            if (!IsHeld(invocation))
                context.ReportDiagnostic(Diagnostic.Create(UnheldScalar, invocation.Syntax.GetLocation(), $"{method.Name}()"));
            return;
        }
        ReportHidden(context, method);
    }

    private static void ReportHidden(OperationAnalysisContext context, IMethodSymbol? method)
    {
        if (method is null || method.ContainingAssembly?.Name != "TorchSharp")
            return;
        var id = (method.ReducedFrom ?? method).OriginalDefinition.GetDocumentationCommentId();
        if (id is not null && HiddenScalarMembers.Contains(id))
            context.ReportDiagnostic(Diagnostic.Create(HiddenScalar, context.Operation.Syntax.GetLocation(),
                method.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat)));
    }

    /// <summary>
    /// A new Scalar is held when it initializes a <c>using</c> local (disposed, so referenced, after its last use) or a
    /// static readonly field (rooted for the process's life, never finalized).
    /// </summary>
    private static bool IsHeld(IOperation created)
    {
        var parent = created.Parent;
        while (parent is IConversionOperation { IsImplicit: true } or IParenthesizedOperation)
            parent = parent.Parent;
        switch (parent)
        {
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation { Parent: IVariableDeclarationOperation { Parent: IVariableDeclarationGroupOperation group } } }:
                return group.Parent is IUsingDeclarationOperation or IUsingOperation;
            case IFieldInitializerOperation field:
                return field.InitializedFields.All(f => f.IsStatic && f.IsReadOnly);
            default:
                return false;
        }
    }

    private static string Describe(IOperation operand) =>
        operand.ConstantValue.HasValue ? $"the constant {operand.Syntax}" : $"'{operand.Syntax}'";

    private static ImmutableHashSet<string> LoadHiddenScalarMembers()
    {
        using var stream = typeof(ScalarLifetimeAnalyzer).Assembly.GetManifestResourceStream("D2.Analyzers.HiddenScalarMembers.txt")!;
        using var reader = new StreamReader(stream);
        var builder = ImmutableHashSet.CreateBuilder<string>(System.StringComparer.Ordinal);
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            line = line.Trim();
            if (line.Length > 0 && !line.StartsWith("#", System.StringComparison.Ordinal))
                builder.Add(line);
        }
        return builder.ToImmutable();
    }
}
