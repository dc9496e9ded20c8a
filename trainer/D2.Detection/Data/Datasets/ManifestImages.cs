namespace D2.Detection.Data.Datasets;

/// <summary>
/// Where the image of a manifest's <c>source-ref</c> is on this machine. SageMaker copies an S3 prefix into a channel,
/// keeping the keys' paths below the prefix, so <c>s3://bucket/data/images/a.jpg</c> is <c>images/a.jpg</c> in a channel
/// made from <c>s3://bucket/data/</c> and <c>a.jpg</c> in one made from <c>s3://bucket/data/images/</c>: the longest
/// trailing part of the key that exists under the folder wins, down to the bare file name (which is all the aws-samples
/// Detectron2 project looks at).
/// </summary>
public static class ManifestImages
{
    /// <param name="folder">the folder the images were copied to (a channel, or a folder in one)</param>
    /// <param name="sourceRef">s3://bucket/key, a path relative to <paramref name="folder"/>, or an absolute local path</param>
    /// <returns>the absolute file, or null when no trailing part of the key is a file under <paramref name="folder"/></returns>
    public static string? Resolve(string folder, string sourceRef)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceRef);
        var root = Path.GetFullPath(folder);
        string key;
        if (sourceRef.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            var slash = sourceRef.IndexOf('/', "s3://".Length);
            key = slash < 0 ? "" : sourceRef[(slash + 1)..];
        }
        else
        {
            if (Path.IsPathRooted(sourceRef) && File.Exists(sourceRef))
                return Path.GetFullPath(sourceRef);
            key = sourceRef;
        }
        var segments = key.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var start = 0; start < segments.Length; start++)
        {
            var candidate = Path.GetFullPath(Path.Combine(root, Path.Combine(segments[start..])));
            // A key with ".." must not reach outside the folder.
            if (candidate.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) && File.Exists(candidate))
                return candidate;
        }
        return null;
    }
}
