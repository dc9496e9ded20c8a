namespace D2.Operations.Steps;

/// <summary>
/// <c>file:relative/path</c> in a profile (not a URI SageMaker knows: only the local SageMaker reads file:// locations)
/// becomes <c>file:///absolute/path</c> against the profile's folder; every other value is left as it is.
/// </summary>
public static class RelativeFileUri
{
    public static string? Resolve(string? value, string? relativeTo)
    {
        if (value is null || relativeTo is null || !value.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            || value.StartsWith("file:/", StringComparison.OrdinalIgnoreCase))
            return value;
        var relative = value["file:".Length..];
        var absolute = new Uri(Path.GetFullPath(Path.Combine(relativeTo, relative))).AbsoluteUri;
        // A trailing slash says "prefix" to SageMaker; keep it.
        return relative.EndsWith('/') && !absolute.EndsWith('/') ? absolute + "/" : absolute;
    }
}
