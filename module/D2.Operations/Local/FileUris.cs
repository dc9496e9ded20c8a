namespace D2.Operations.Local;

/// <summary>
/// The local SageMaker's stand-in for S3: <c>file:///absolute/path</c> URIs. s3:// and https:// are refused with a
/// ValidationException naming the member, rather than silently reading nothing.
/// </summary>
internal static class FileUris
{
    public static bool IsFileUri(string? value) => value is not null && value.StartsWith("file://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The local path of a file:// URI in <paramref name="member"/>, or a ValidationException.</summary>
    public static string ToLocalPath(string value, string member)
    {
        if (!IsFileUri(value))
            throw LocalApiException.Validation(
                $"Value '{value}' at '{member}' is not supported by the local SageMaker: it reads and writes file:// URIs only " +
                "(file:///absolute/path, a local folder or file standing in for the S3 location).");
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || !uri.IsFile || !(uri.IsLoopback || string.IsNullOrEmpty(uri.Host)))
            throw LocalApiException.Validation($"Value '{value}' at '{member}' is not a valid file:// URI; use file:///absolute/path.");
        return uri.LocalPath;
    }

    public static string FromLocalPath(string path) => new Uri(Path.GetFullPath(path)).AbsoluteUri;

    /// <summary><paramref name="baseUri"/> joined with relative segments, keeping exactly one slash between them.</summary>
    public static string Combine(string baseUri, params string[] segments) =>
        string.Join('/', new[] { baseUri.TrimEnd('/') }.Concat(segments.Select(s => s.Trim('/'))));
}
