namespace D2.Operations.ServiceModels;

/// <summary>A named shape of a botocore service model, with the constraints AWS enforces on it.</summary>
public sealed class Shape
{
    internal Shape(string name, ShapeType type)
    {
        Name = name;
        Type = type;
    }

    public string Name { get; }

    public ShapeType Type { get; }

    /// <summary>Structure members in model order (empty for non-structures).</summary>
    public IReadOnlyDictionary<string, MemberModel> Members { get; internal init; } = new Dictionary<string, MemberModel>();

    /// <summary>Required member names of a structure.</summary>
    public IReadOnlyList<string> Required { get; internal init; } = [];

    /// <summary>Element shape name of a list.</summary>
    public string? MemberShape { get; internal init; }

    /// <summary>Key shape name of a map.</summary>
    public string? KeyShape { get; internal init; }

    /// <summary>Value shape name of a map.</summary>
    public string? ValueShape { get; internal init; }

    /// <summary>Lower bound: length for string/blob/list/map, value for numbers.</summary>
    public double? Min { get; internal init; }

    /// <summary>Upper bound: length for string/blob/list/map, value for numbers.</summary>
    public double? Max { get; internal init; }

    /// <summary>Java-style regular expression the whole value must match.</summary>
    public string? Pattern { get; internal init; }

    /// <summary>Allowed string values, null when unconstrained.</summary>
    public IReadOnlyList<string>? Enum { get; internal init; }

    /// <summary>True for error shapes.</summary>
    public bool IsException { get; internal init; }

    /// <summary>True for server-side (5xx) error shapes.</summary>
    public bool IsFault { get; internal init; }

    /// <summary>Modeled HTTP status of an error shape, when the model states one.</summary>
    public int? ErrorStatusCode { get; internal init; }

    /// <summary>Member carried as the raw HTTP body (rest-json).</summary>
    public string? Payload { get; internal init; }

    /// <summary>Values not to be logged.</summary>
    public bool Sensitive { get; internal init; }

    public override string ToString() => $"{Name} ({Type})";
}
