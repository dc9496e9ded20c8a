namespace D2.Build.Engine;

/// <summary>A target as NUKE declares it: a property <c>Target Name => _ => _.Description(..).DependsOn(..).Executes(..)</c>.</summary>
public delegate ITargetDefinition Target(ITargetDefinition definition);

/// <summary>The fluent surface a target declaration uses.</summary>
public interface ITargetDefinition
{
    ITargetDefinition Description(string description);

    /// <summary>These targets run first, and are scheduled whenever this one is.</summary>
    ITargetDefinition DependsOn(params Target[] targets);

    /// <summary>Ordering only: when both are scheduled, this one runs before the given ones.</summary>
    ITargetDefinition Before(params Target[] targets);

    /// <summary>Ordering only: when both are scheduled, this one runs after the given ones.</summary>
    ITargetDefinition After(params Target[] targets);

    ITargetDefinition Executes(Action action);

    ITargetDefinition Executes(Func<Task> action);
}
