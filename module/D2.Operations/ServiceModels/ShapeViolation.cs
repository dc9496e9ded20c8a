namespace D2.Operations.ServiceModels;

/// <summary>One constraint a request member breaks.</summary>
/// <param name="MemberPath">AWS-style path: camelCase members joined by '.', list elements as <c>n.member</c> (1-based),
/// e.g. <c>resourceConfig.instanceCount</c> or <c>inputDataConfig.1.member.channelName</c>.</param>
/// <param name="Message">The constraint in AWS wording, e.g. <c>Member must not be null</c>.</param>
public sealed record ShapeViolation(string MemberPath, string Message)
{
    /// <summary>The offending value rendered as AWS renders it; null when the member is missing.</summary>
    public string? Value { get; init; }

    /// <summary>AWS's sentence for this violation: <c>Value 'x' at 'path' failed to satisfy constraint: ...</c>.</summary>
    public override string ToString() =>
        $"Value {(Value is null ? "null" : "'" + Value + "'")} at '{MemberPath}' failed to satisfy constraint: {Message}";
}
