namespace D2.Build.Engine;

/// <summary>A target failed for a reason its message states fully (a tool's exit code, failed tests); shown without a stack trace.</summary>
public sealed class BuildFailedException(string message) : Exception(message);
