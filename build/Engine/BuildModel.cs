using System.Reflection;

namespace D2.Build.Engine;

/// <summary>The targets and parameters of a build class, found by reflection in declaration order.</summary>
public sealed class BuildModel
{
    private readonly Dictionary<MethodInfo, TargetDefinition> _byMethod = [];

    public IReadOnlyList<TargetDefinition> Targets { get; }
    public IReadOnlyList<BuildParameter> Parameters { get; }

    public BuildModel(object build)
    {
        const BindingFlags flags = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
        var type = build.GetType();
        var targets = new List<TargetDefinition>();
        foreach (var property in type.GetProperties(flags).Where(p => p.PropertyType == typeof(Target)).OrderBy(p => p.MetadataToken))
        {
            var declaration = (Target)property.GetValue(build)!;
            var definition = new TargetDefinition(property.Name);
            declaration(definition);
            // A target property returns a fresh delegate on each read, but always over the same compiled lambda.
            _byMethod[declaration.Method] = definition;
            targets.Add(definition);
        }
        Targets = targets;
        Parameters = type.GetFields(flags).Cast<MemberInfo>()
            .Concat(type.GetProperties(flags))
            .Where(m => m.GetCustomAttribute<ParameterAttribute>() is not null)
            .OrderBy(m => m.MetadataToken)
            .Select(m => new BuildParameter(build, m))
            .ToList();
    }

    public TargetDefinition Resolve(Target target) =>
        _byMethod.TryGetValue(target.Method, out var definition)
            ? definition
            : throw new InvalidOperationException($"A dependency refers to a target that is not a Target property of the build class ({target.Method.Name}).");

    public TargetDefinition? Find(string name) =>
        Targets.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));

    public BuildParameter? FindParameter(string kebabName) =>
        Parameters.FirstOrDefault(p => string.Equals(p.CliName, kebabName, StringComparison.OrdinalIgnoreCase));
}
