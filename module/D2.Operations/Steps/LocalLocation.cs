namespace D2.Operations.Steps;

/// <summary>Data locations for the local SageMaker: a plain path is accepted where AWS needs a URI.</summary>
public static class LocalLocation
{
    /// <summary>URIs as given; with the local SageMaker a plain path becomes a file:// URI of its full path (a folder: trailing slash).</summary>
    public static string? Uri(string? value, bool local)
    {
        if (value is null || !local || value.Contains("://", StringComparison.Ordinal))
        {
            return value;
        }

        var full = Path.GetFullPath(value);
        return new System.Uri(File.Exists(full) ? full : Path.TrimEndingDirectorySeparator(full) + "/").AbsoluteUri;
    }
}
