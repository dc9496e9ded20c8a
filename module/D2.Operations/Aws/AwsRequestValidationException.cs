using D2.Operations.ServiceModels;

namespace D2.Operations.Aws;

/// <summary>
/// A request broke the service model's constraints and was not sent. The message is the one AWS would answer
/// in its ValidationException, so it names each offending member.
/// </summary>
public sealed class AwsRequestValidationException(string service, string operation, IReadOnlyList<ShapeViolation> violations)
    : ArgumentException($"{service} {operation}: {ShapeValidator.FormatMessage(violations)}")
{
    public string Service { get; } = service;

    public string Operation { get; } = operation;

    public IReadOnlyList<ShapeViolation> Violations { get; } = violations;
}
