namespace D2.Detection.Config;

/// <summary>
/// Reads a config value as a .NET type for <see cref="CfgNode.Get{T}"/>. Python ints widen to float where a
/// float is asked for (Detectron2's code does the same arithmetic with either); nothing else is converted.
/// </summary>
internal static class CfgValueConverter
{
    private static readonly object Failed = new();

    public static T Convert<T>(object? value, string key)
    {
        var converted = ConvertTo(value, typeof(T));
        if (ReferenceEquals(converted, Failed))
        {
            var range = value is long && (typeof(T) == typeof(int) || typeof(T) == typeof(int?)) ? " (out of the Int32 range)" : string.Empty;
            throw new ConfigException(
                $"Config key {key} holds {PythonRepr.Format(value)} (a {ConfigValues.TypeName(value)}), which cannot be read as {TypeName(typeof(T))}{range}.")
            {
                Key = key,
            };
        }

        return (T)converted!;
    }

    private static object? ConvertTo(object? value, Type target)
    {
        if (target == typeof(object))
        {
            return value;
        }

        if (Nullable.GetUnderlyingType(target) is { } underlying)
        {
            return value is null ? null : ConvertTo(value, underlying);
        }

        return value switch
        {
            bool b when target == typeof(bool) => b,
            long l when target == typeof(long) => l,
            long l when target == typeof(int) && l is >= int.MinValue and <= int.MaxValue => (int)l,
            long l when target == typeof(double) => (double)l,
            long l when target == typeof(float) => (float)l,
            double d when target == typeof(double) => d,
            double d when target == typeof(float) => (float)d,
            string s when target == typeof(string) => s,
            CfgSequence s when target == typeof(CfgSequence) => s,
            CfgNode n when target == typeof(CfgNode) => n,
            CfgSequence s when ElementType(target) is { } element => ToArray(s, element),
            _ => Failed,
        };
    }

    /// <summary>U for U[], IReadOnlyList&lt;U&gt;, IList&lt;U&gt;, IReadOnlyCollection&lt;U&gt; and IEnumerable&lt;U&gt;.</summary>
    private static Type? ElementType(Type target)
    {
        if (target.IsArray)
        {
            return target.GetElementType();
        }

        if (!target.IsGenericType || !target.IsInterface)
        {
            return null;
        }

        var definition = target.GetGenericTypeDefinition();
        return definition == typeof(IReadOnlyList<>) || definition == typeof(IList<>)
            || definition == typeof(IReadOnlyCollection<>) || definition == typeof(IEnumerable<>)
            ? target.GetGenericArguments()[0]
            : null;
    }

    private static object ToArray(CfgSequence sequence, Type element)
    {
        var array = Array.CreateInstance(element, sequence.Count);
        for (var i = 0; i < sequence.Count; i++)
        {
            var item = ConvertTo(sequence[i], element);
            if (ReferenceEquals(item, Failed) || (item is null && element.IsValueType && Nullable.GetUnderlyingType(element) is null))
            {
                return Failed;
            }

            array.SetValue(item, i);
        }

        return array;
    }

    private static string TypeName(Type type) => type.IsGenericType
        ? $"{type.Name[..type.Name.IndexOf('`')]}<{string.Join(", ", type.GetGenericArguments().Select(TypeName))}>"
        : type.IsArray ? TypeName(type.GetElementType()!) + "[]" : type.Name;
}
