namespace D2.Detection.Config;

/// <summary>
/// Checks run after merging (<see cref="CfgNode.Validate"/>). yacs checks a value only against the key's
/// current type and lets anything into a key that holds None or an empty list; this catches what that lets
/// through (a str in <c>SOLVER.WEIGHT_DECAY_BIAS</c>, numbers in <c>DATASETS.TRAIN</c>) while the error can
/// still name the key, then checks <see cref="SupportedFeatures"/>.
/// </summary>
internal static class ConfigValidator
{
    /// <summary>Keys whose default is empty or None, and what their elements / value must be.</summary>
    private static readonly Dictionary<string, ElementKind> DeclaredElements = new(StringComparer.Ordinal)
    {
        ["DATASETS.TRAIN"] = ElementKind.String,
        ["DATASETS.TEST"] = ElementKind.String,
        ["DATASETS.PROPOSAL_FILES_TRAIN"] = ElementKind.String,
        ["DATASETS.PROPOSAL_FILES_TEST"] = ElementKind.String,
        ["MODEL.FPN.IN_FEATURES"] = ElementKind.String,
        ["TEST.KEYPOINT_OKS_SIGMAS"] = ElementKind.Number,
        ["TEST.EXPECTED_RESULTS"] = ElementKind.Any,
        ["SOLVER.WEIGHT_DECAY_BIAS"] = ElementKind.Number,
    };

    private enum ElementKind
    {
        Any,
        String,
        Number,
        Bool,
    }

    public static void Validate(CfgNode cfg, ConfigPurpose purpose = ConfigPurpose.Training)
    {
        var problems = new List<(string Key, string Message)>();
        foreach (var (key, value) in cfg.Leaves())
        {
            if (DefaultConfig.TryGetDefault(key, out var defaultValue))
            {
                CheckShape(key, value, defaultValue, problems);
            }
        }

        SupportedFeatures.Check(cfg, problems, purpose);
        if (problems.Count == 1)
        {
            throw new ConfigException(problems[0].Message) { Key = problems[0].Key };
        }

        if (problems.Count > 1)
        {
            throw new ConfigException($"The config has {problems.Count} problems:\n" + string.Join("\n", problems.Select(p => "  " + p.Message)))
            {
                Key = problems[0].Key,
            };
        }
    }

    private static void CheckShape(string key, object? value, object? defaultValue, List<(string Key, string Message)> problems)
    {
        if (value is null)
        {
            return; // yacs accepts None for any key; the code that reads the key decides
        }

        var kind = DeclaredElements.TryGetValue(key, out var declared) ? declared : KindOf(defaultValue);
        if (defaultValue is not null && value is CfgSequence != defaultValue is CfgSequence)
        {
            problems.Add((key, $"{key} = {PythonRepr.Format(value)} is a {ConfigValues.TypeName(value)}, but Detectron2's default is a {ConfigValues.TypeName(defaultValue)} ({PythonRepr.Format(defaultValue)})."));
        }
        else if (defaultValue is not null && value is not CfgSequence && value.GetType() != defaultValue.GetType())
        {
            problems.Add((key, $"{key} = {PythonRepr.Format(value)} is a {ConfigValues.TypeName(value)}, but Detectron2's default is a {ConfigValues.TypeName(defaultValue)} ({PythonRepr.Format(defaultValue)})."));
        }
        else if (defaultValue is null && !Matches(value, kind))
        {
            problems.Add((key, $"{key} = {PythonRepr.Format(value)}: must be None or a {Describe(kind)}."));
        }
        else if (value is CfgSequence sequence && !sequence.All(item => Matches(item, kind)))
        {
            problems.Add((key, $"{key} = {PythonRepr.Format(value)}: every element must be a {Describe(kind)}."));
        }
    }

    /// <summary>The element kind of a default: nested numeric lists count as numbers (anchor sizes may be flat or per level).</summary>
    private static ElementKind KindOf(object? defaultValue) => defaultValue switch
    {
        CfgSequence { Count: > 0 } sequence => KindOf(sequence[0]),
        CfgSequence => ElementKind.Any,
        string => ElementKind.String,
        bool => ElementKind.Bool,
        long or double => ElementKind.Number,
        _ => ElementKind.Any,
    };

    private static bool Matches(object? item, ElementKind kind) => kind switch
    {
        ElementKind.Any => true,
        ElementKind.String => item is string,
        ElementKind.Bool => item is bool,
        _ => item is long or double || (item is CfgSequence nested && nested.All(inner => Matches(inner, kind))),
    };

    private static string Describe(ElementKind kind) => kind switch
    {
        ElementKind.String => "str",
        ElementKind.Bool => "bool",
        ElementKind.Number => "number (int or float)",
        _ => "value",
    };
}
