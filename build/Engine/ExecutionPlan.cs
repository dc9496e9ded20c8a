namespace D2.Build.Engine;

public enum TargetStatus { Planned, Succeeded, Failed, Skipped, NotRun }

/// <summary>One scheduled target and what happened to it.</summary>
public sealed class PlannedTarget(TargetDefinition definition, bool skipped)
{
    public TargetDefinition Definition { get; } = definition;
    public TargetStatus Status { get; set; } = skipped ? TargetStatus.Skipped : TargetStatus.Planned;
    public TimeSpan Duration { get; set; }
    public string Note { get; set; } = "";
}

/// <summary>
/// Orders the invoked targets and their dependencies: DependsOn edges always, Before/After edges when both ends are
/// scheduled, declaration order among independent targets (NUKE's rules).
/// </summary>
public static class ExecutionPlan
{
    /// <param name="skip">null: skip nothing; empty: skip every target that was not invoked; else skip these.</param>
    public static IReadOnlyList<PlannedTarget> Create(BuildModel model, IReadOnlyList<TargetDefinition> invoked, IReadOnlyCollection<TargetDefinition>? skip)
    {
        var scheduled = new HashSet<TargetDefinition>();
        var stack = new Stack<TargetDefinition>(invoked);
        while (stack.Count > 0)
        {
            var target = stack.Pop();
            if (!scheduled.Add(target))
                continue;
            foreach (var dependency in target.DependsOnTargets)
                stack.Push(model.Resolve(dependency));
        }

        // predecessors[t] = targets that must finish before t starts
        var predecessors = scheduled.ToDictionary(t => t, _ => new HashSet<TargetDefinition>());
        foreach (var target in scheduled)
        {
            foreach (var dependency in target.DependsOnTargets.Select(model.Resolve))
                predecessors[target].Add(dependency);
            foreach (var later in target.BeforeTargets.Select(model.Resolve).Where(scheduled.Contains))
                predecessors[later].Add(target);
            foreach (var earlier in target.AfterTargets.Select(model.Resolve).Where(scheduled.Contains))
                predecessors[target].Add(earlier);
        }

        var declarationOrder = model.Targets.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var ordered = new List<TargetDefinition>();
        var remaining = new HashSet<TargetDefinition>(scheduled);
        while (remaining.Count > 0)
        {
            var ready = remaining.Where(t => predecessors[t].All(p => !remaining.Contains(p)))
                .OrderBy(t => declarationOrder[t]).FirstOrDefault();
            if (ready is null)
                throw new InvalidOperationException(
                    $"The target graph has a cycle among: {string.Join(", ", remaining.OrderBy(t => declarationOrder[t]).Select(t => t.Name))}.");
            ordered.Add(ready);
            remaining.Remove(ready);
        }

        return ordered
            .Select(t => new PlannedTarget(t, skip is not null && (skip.Count == 0 ? !invoked.Contains(t) : skip.Contains(t))))
            .ToList();
    }
}
