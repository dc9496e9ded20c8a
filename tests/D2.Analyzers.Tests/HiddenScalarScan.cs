using System.Reflection;
using System.Reflection.Emit;
using System.Text;

namespace D2.Analyzers.Tests;

/// <summary>
/// Finds TorchSharp's public members that make a Scalar they do not keep alive, from the loaded TorchSharp's IL: every
/// method that makes a Scalar (its constructor, or a method returning one: implicit conversions, ToScalar) without
/// returning it and never calls Scalar.Dispose, every TorchSharp method that
/// calls one of those, and the constructors and factories of types (and their subclasses) whose virtual overrides are among them (a call
/// through the base's slot, such as optimizer.step(), cannot be seen at the call site). Returns documentation ids, the
/// analyzer's HiddenScalarMembers.txt.
/// </summary>
static class HiddenScalarScan
{
    const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static SortedSet<string> Run(Assembly torchSharp)
    {
        var methods = torchSharp.GetTypes().SelectMany(t => t.GetMethods(Declared).Cast<MethodBase>().Concat(t.GetConstructors(Declared))).ToList();
        var callees = methods.ToDictionary(m => m, Callees);
        var direct = methods.Where(m => !IsCreation(m) && callees[m].Any(IsCreation) && !callees[m].Any(IsScalarDispose));
        var hazard = new HashSet<MethodBase>(direct);
        var callers = new Dictionary<MethodBase, List<MethodBase>>();
        foreach (var (caller, called) in callees)
            foreach (var c in called)
                (callers.TryGetValue(c, out var list) ? list : callers[c] = []).Add(caller);
        var queue = new Queue<MethodBase>(hazard);
        while (queue.Count > 0)
            if (callers.TryGetValue(queue.Dequeue(), out var list))
                foreach (var caller in list.Where(c => !IsCreation(c) && hazard.Add(c)))
                    queue.Enqueue(caller);
        var overriders = hazard.OfType<MethodInfo>().Where(m => m.IsVirtual && m.GetBaseDefinition() != m).Select(m => m.DeclaringType!).ToList();
        // BatchNorm.forward makes the Scalar; nn.BatchNorm2d() returns its subclass.
        var carriers = torchSharp.GetTypes().Where(t => overriders.Any(o => t == o || t.IsSubclassOf(o))).ToHashSet();
        foreach (var m in methods)
            if (m is ConstructorInfo c && carriers.Contains(c.DeclaringType!) || m is MethodInfo { IsStatic: true } f && carriers.Contains(f.ReturnType))
                hazard.Add(m);
        return new SortedSet<string>(hazard.Where(IsVisible).Select(DocumentationId), StringComparer.Ordinal);
    }

    /// <summary>Scalar's constructor, or a TorchSharp method that hands a new Scalar to its caller (implicit conversions, ToScalar).</summary>
    static bool IsCreation(MethodBase m) =>
        m.DeclaringType?.Assembly == typeof(TorchSharp.Scalar).Assembly
        && (m is ConstructorInfo && m.DeclaringType.FullName == "TorchSharp.Scalar" || m is MethodInfo { ReturnType.FullName: "TorchSharp.Scalar" });

    static bool IsScalarDispose(MethodBase m) => m.DeclaringType?.FullName == "TorchSharp.Scalar" && m.Name == "Dispose";

    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>The methods <paramref name="method"/>'s IL calls, references (ldftn) or constructs, generic ones as their definitions.</summary>
    static List<MethodBase> Callees(MethodBase method)
    {
        var result = new List<MethodBase>();
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
            return result;
        var typeArguments = method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
        var methodArguments = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            short value = il[i++];
            if (value == 0xFE)
                value = (short)(0xFE00 | il[i++]);
            var op = OpCodesByValue[value];
            if (op.OperandType == OperandType.InlineMethod)
            {
                var callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArguments, methodArguments);
                if (callee is MethodInfo { IsGenericMethod: true } generic)
                    callee = generic.GetGenericMethodDefinition();
                if (callee?.DeclaringType is { IsGenericType: true, IsGenericTypeDefinition: false } constructed)
                    callee = MethodBase.GetMethodFromHandle(callee.MethodHandle, constructed.GetGenericTypeDefinition().TypeHandle);
                if (callee is not null)
                    result.Add(callee);
            }
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
        }
        return result;
    }

    static bool IsVisible(MethodBase m)
    {
        if (!(m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly))
            return false;
        for (var t = m.DeclaringType; t is not null; t = t.DeclaringType)
            if (!(t.IsPublic || t.IsNestedPublic || t.IsNestedFamily))
                return false;
        return true;
    }

    /// <summary>The C# compiler's documentation id (what Roslyn's GetDocumentationCommentId returns) of a method.</summary>
    static string DocumentationId(MethodBase m)
    {
        var id = new StringBuilder("M:").Append(DeclarationName(m.DeclaringType!)).Append('.').Append(m.IsConstructor ? "#ctor" : m.Name);
        if (m.IsGenericMethod)
            id.Append("``").Append(m.GetGenericArguments().Length);
        var parameters = m.GetParameters();
        if (parameters.Length > 0)
            id.Append('(').Append(string.Join(",", parameters.Select(p => TypeName(p.ParameterType)))).Append(')');
        if (m is MethodInfo info && m.Name is "op_Implicit" or "op_Explicit")
            id.Append('~').Append(TypeName(info.ReturnType));
        return id.ToString();
    }

    static string DeclarationName(Type t) => t.IsNested ? DeclarationName(t.DeclaringType!) + "." + t.Name : t.FullName!;

    static string TypeName(Type t)
    {
        if (t.IsByRef)
            return TypeName(t.GetElementType()!) + "@";
        if (t.IsArray)
            return TypeName(t.GetElementType()!) + (t.GetArrayRank() == 1 ? "[]" : "[" + string.Join(",", Enumerable.Repeat("0:", t.GetArrayRank())) + "]");
        if (t.IsPointer)
            return TypeName(t.GetElementType()!) + "*";
        if (t.IsGenericMethodParameter)
            return "``" + t.GenericParameterPosition;
        if (t.IsGenericTypeParameter)
            return "`" + t.GenericParameterPosition;
        var name = t.IsNested ? TypeName(t.DeclaringType!) + "." + t.Name : (t.Namespace is null ? "" : t.Namespace + ".") + t.Name;
        if (t.IsGenericType && !t.IsGenericTypeDefinition)
            return name[..name.IndexOf('`')] + "{" + string.Join(",", t.GetGenericArguments().Select(TypeName)) + "}";
        return name;
    }
}
