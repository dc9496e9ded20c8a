namespace D2.Build.Engine;

/// <summary>
/// Marks a field of the build class as a parameter, filled from <c>--kebab-case-name value</c>,
/// else from an environment variable named like the field (case and underscores ignored, optional D2_ or NUKE_ prefix).
/// </summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class ParameterAttribute(string description) : Attribute
{
    public string Description { get; } = description;

    /// <summary>Secret values are never printed (help shows only whether one is set).</summary>
    public bool Secret { get; init; }
}
