namespace D2.Detection.Config;

/// <summary>
/// A config that cannot be loaded, merged or used: the message names the key and/or the file and says
/// what is wrong (and, where there is one, the fix).
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The full config key the error is about (e.g. <c>SOLVER.BASE_LR</c>), when there is one.</summary>
    public string? Key { get; init; }

    /// <summary>The file (path or <c>model-zoo://</c> name) the error is about, when there is one.</summary>
    public string? File { get; init; }
}
