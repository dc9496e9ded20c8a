namespace D2.Build.Engine;

/// <summary>One declared target after its declaration delegate ran.</summary>
public sealed class TargetDefinition(string name) : ITargetDefinition
{
    public string Name { get; } = name;
    public string DescriptionText { get; private set; } = "";
    public List<Target> DependsOnTargets { get; } = [];
    public List<Target> BeforeTargets { get; } = [];
    public List<Target> AfterTargets { get; } = [];
    public List<Func<Task>> Actions { get; } = [];

    public ITargetDefinition Description(string description)
    {
        DescriptionText = description;
        return this;
    }

    public ITargetDefinition DependsOn(params Target[] targets)
    {
        DependsOnTargets.AddRange(targets);
        return this;
    }

    public ITargetDefinition Before(params Target[] targets)
    {
        BeforeTargets.AddRange(targets);
        return this;
    }

    public ITargetDefinition After(params Target[] targets)
    {
        AfterTargets.AddRange(targets);
        return this;
    }

    public ITargetDefinition Executes(Action action)
    {
        Actions.Add(() => { action(); return Task.CompletedTask; });
        return this;
    }

    public ITargetDefinition Executes(Func<Task> action)
    {
        Actions.Add(action);
        return this;
    }
}
