namespace D2.Build.Engine;

/// <summary>The command line or the environment asks for something the build does not have; printed without a stack trace, exit code 2.</summary>
public sealed class BuildUsageException(string message) : Exception(message);
