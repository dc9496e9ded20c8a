namespace D2.Build.Engine;

/// <summary>What the command line asked for: targets, skips, mode, parameter values.</summary>
public sealed record BuildInvocation(
    IReadOnlyList<TargetDefinition> Targets,
    IReadOnlyCollection<TargetDefinition>? Skip,
    bool Help,
    bool Plan)
{
    /// <summary>
    /// Parses <c>[targets...] [--target T...] [--skip [T...]] [--plan] [--help] [--param value...]</c>
    /// and sets parameters: command line first, then the environment.
    /// </summary>
    public static BuildInvocation Parse(BuildModel model, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> environment, string defaultTarget)
    {
        var targets = new List<TargetDefinition>();
        List<TargetDefinition>? skip = null;
        bool help = false, plan = false;
        var fromCommandLine = new HashSet<BuildParameter>();

        for (var i = 0; i < args.Count;)
        {
            var arg = args[i++];
            if (!arg.StartsWith('-'))
            {
                targets.Add(ResolveTarget(model, arg));
                continue;
            }
            var values = new List<string>();
            while (i < args.Count && !args[i].StartsWith("--", StringComparison.Ordinal))
                values.Add(args[i++]);
            switch (arg.ToLowerInvariant())
            {
                case "--help" or "-h" or "-?":
                    help = true;
                    i -= values.Count; // flags take no value: what follows is a target
                    break;
                case "--plan" or "--dry-run":
                    plan = true;
                    i -= values.Count;
                    break;
                case "--target":
                    targets.AddRange(values.Select(v => ResolveTarget(model, v)));
                    break;
                case "--skip":
                    skip ??= [];
                    skip.AddRange(values.Select(v => ResolveTarget(model, v)));
                    break;
                default:
                    var parameter = arg.StartsWith("--", StringComparison.Ordinal) ? model.FindParameter(arg[2..]) : null;
                    if (parameter is null)
                        throw new BuildUsageException(
                            $"Unknown option '{arg}'. Parameters: {string.Join(", ", model.Parameters.Select(p => "--" + p.CliName))}; " +
                            "options: --target, --skip, --plan, --help.");
                    // A switch takes no value: what follows it is the next target.
                    if (parameter.IsSwitch && values.Count > 0 && !bool.TryParse(values[0], out _))
                    {
                        i -= values.Count;
                        values.Clear();
                    }
                    parameter.Set(values, "command line");
                    fromCommandLine.Add(parameter);
                    break;
            }
        }

        foreach (var parameter in model.Parameters.Where(p => !fromCommandLine.Contains(p)))
        {
            var match = environment.Where(kv => parameter.MatchesEnvironmentName(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).FirstOrDefault();
            if (match.Key is not null && match.Value.Length > 0)
                parameter.Set([match.Value], $"environment variable {match.Key}");
        }

        if (targets.Count == 0)
            targets.Add(ResolveTarget(model, defaultTarget));
        return new BuildInvocation(targets.Distinct().ToList(), skip, help, plan);
    }

    private static TargetDefinition ResolveTarget(BuildModel model, string name) =>
        model.Find(name) ?? throw new BuildUsageException(
            $"Unknown target '{name}'. Targets: {string.Join(", ", model.Targets.Select(t => t.Name))}.");
}
