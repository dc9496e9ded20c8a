using System.Globalization;
using System.Reflection;
using System.Text;

namespace D2.Build.Engine;

/// <summary>One [Parameter] member: its names on the command line and in the environment, and how to set it.</summary>
public sealed class BuildParameter
{
    private readonly object _build;
    private readonly MemberInfo _member;

    public BuildParameter(object build, MemberInfo member)
    {
        _build = build;
        _member = member;
        var attribute = member.GetCustomAttribute<ParameterAttribute>()!;
        Description = attribute.Description;
        Secret = attribute.Secret;
        Name = member.Name.TrimStart('_');
        CliName = ToKebabCase(Name);
    }

    public string Name { get; }
    public string CliName { get; }
    public string Description { get; }
    public bool Secret { get; }

    public Type ValueType => _member switch
    {
        FieldInfo f => f.FieldType,
        PropertyInfo p => p.PropertyType,
        _ => throw new InvalidOperationException(),
    };

    public object? Value => _member switch
    {
        FieldInfo f => f.GetValue(_build),
        PropertyInfo p => p.GetValue(_build),
        _ => null,
    };

    /// <summary>How the current value shows in help and logs; secrets never show.</summary>
    public string DisplayValue => Secret
        ? (Value is null or "" ? "(not set)" : "(secret, set)")
        : Value switch
        {
            null => "(not set)",
            string[] items => string.Join(' ', items),
            _ => Convert.ToString(Value, CultureInfo.InvariantCulture) ?? "",
        };

    /// <summary>Values an enum parameter accepts, for help and errors.</summary>
    public string[] AllowedValues => Nullable.GetUnderlyingType(ValueType) is { IsEnum: true } e ? Enum.GetNames(e)
        : ValueType.IsEnum ? Enum.GetNames(ValueType) : [];

    public bool IsSwitch => ValueType == typeof(bool) || ValueType == typeof(bool?);

    /// <summary>Environment names that set this parameter: D2_NAME, NUKE_NAME or NAME, case and underscores ignored.</summary>
    public bool MatchesEnvironmentName(string variable)
    {
        var normalized = variable.Replace("_", "", StringComparison.Ordinal);
        var name = Name.Replace("_", "", StringComparison.Ordinal);
        return string.Equals(normalized, name, StringComparison.OrdinalIgnoreCase)
            || string.Equals(normalized, "D2" + name, StringComparison.OrdinalIgnoreCase)
            || string.Equals(normalized, "NUKE" + name, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Sets the parameter from its textual values; throws <see cref="BuildUsageException"/> naming the parameter when they do not fit.</summary>
    public void Set(IReadOnlyList<string> values, string source)
    {
        var type = Nullable.GetUnderlyingType(ValueType) ?? ValueType;
        object? value;
        if (type == typeof(string[]))
            value = values.SelectMany(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        else if (type == typeof(bool) && values.Count == 0)
            value = true;
        else if (values.Count != 1)
            throw new BuildUsageException($"Parameter --{CliName} ({source}) takes exactly one value, got {values.Count}.");
        else
            value = Parse(type, values[0], source);
        switch (_member)
        {
            case FieldInfo f: f.SetValue(_build, value); break;
            case PropertyInfo p: p.SetValue(_build, value); break;
        }
    }

    private object Parse(Type type, string text, string source)
    {
        if (type == typeof(string))
            return text;
        if (type == typeof(bool))
            return bool.TryParse(text, out var b) ? b
                : throw new BuildUsageException($"Parameter --{CliName} ({source}): '{text}' is not true or false.");
        if (type == typeof(int))
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i
                : throw new BuildUsageException($"Parameter --{CliName} ({source}): '{text}' is not an integer.");
        if (type.IsEnum)
            return Enum.TryParse(type, text, ignoreCase: true, out var e) && Enum.IsDefined(type, e!) ? e!
                : throw new BuildUsageException($"Parameter --{CliName} ({source}): '{text}' is not valid; use one of {string.Join(", ", Enum.GetNames(type))}.");
        throw new InvalidOperationException($"Parameter type {type} is not supported.");
    }

    private static string ToKebabCase(string name)
    {
        var builder = new StringBuilder();
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && !char.IsUpper(name[i - 1]))
                builder.Append('-');
            builder.Append(char.ToLowerInvariant(name[i]));
        }
        return builder.ToString();
    }
}
