namespace D2.Operations.Steps;

/// <summary>A training or deployment profile is wrong; the message names the profile (file) and the field.</summary>
public sealed class InvalidProfileException(string field, string message) : ArgumentException(message)
{
    /// <summary>The profile field at fault, as written in profile files (camelCase, e.g. <c>maxWaitTimeInSeconds</c>).</summary>
    public string Field { get; } = field;
}
