namespace D2.Operations.Aws;

/// <summary>An <c>s3://bucket/key</c> location.</summary>
public sealed record S3Uri(string Bucket, string Key)
{
    /// <summary>Parses <c>s3://bucket[/key]</c>.</summary>
    /// <exception cref="FormatException">Not an s3:// URI or no bucket.</exception>
    public static S3Uri Parse(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        const string scheme = "s3://";
        if (!uri.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"'{uri}' is not an s3:// URI.");
        }

        var rest = uri[scheme.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        if (bucket.Length == 0)
        {
            throw new FormatException($"'{uri}' has no bucket.");
        }

        return new S3Uri(bucket, slash < 0 ? "" : rest[(slash + 1)..]);
    }

    public static bool TryParse(string? uri, out S3Uri? result)
    {
        try
        {
            result = uri is null ? null : Parse(uri);
            return result is not null;
        }
        catch (FormatException)
        {
            result = null;
            return false;
        }
    }

    /// <summary>The key joined with <paramref name="relative"/> by exactly one '/'.</summary>
    public S3Uri Append(string relative) =>
        this with { Key = Key.Length == 0 ? relative.TrimStart('/') : Key.TrimEnd('/') + "/" + relative.TrimStart('/') };

    public override string ToString() => $"s3://{Bucket}/{Key}";
}
