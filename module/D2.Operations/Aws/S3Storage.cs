using Amazon;
using Amazon.S3;
using Amazon.S3.Model;

namespace D2.Operations.Aws;

/// <summary>Small S3 helper over AWSSDK.S3: upload/download of a file or a prefix (datasets, model artifacts).</summary>
public sealed class S3Storage : IDisposable
{
    private readonly IAmazonS3 _s3;
    private readonly bool _owns;

    /// <summary>Uses <paramref name="options"/>' region, credentials and <c>ServiceUrls["s3"]</c> (path-style when overridden).</summary>
    public S3Storage(AwsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var config = new AmazonS3Config();
        if (options.GetServiceUrl("s3") is { } url)
        {
            config.ServiceURL = url.ToString();
            config.ForcePathStyle = true;
            config.AuthenticationRegion = AwsIdentity.ResolveRegion(options) ?? "us-east-1";
        }
        else if (AwsIdentity.ResolveRegion(options) is { } region)
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        _s3 = options.Credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(options.Credentials, config);
        _owns = true;
    }

    /// <summary>Wraps an existing client (not disposed).</summary>
    public S3Storage(IAmazonS3 s3)
    {
        _s3 = s3 ?? throw new ArgumentNullException(nameof(s3));
    }

    public async Task UploadFileAsync(string localPath, S3Uri destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        await _s3.PutObjectAsync(new PutObjectRequest { BucketName = destination.Bucket, Key = destination.Key, FilePath = localPath }, cancellationToken)
            .ConfigureAwait(false);
    }

    public async Task DownloadFileAsync(S3Uri source, string localPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(localPath))!);
        using var answer = await _s3.GetObjectAsync(source.Bucket, source.Key, cancellationToken).ConfigureAwait(false);
        // Written under a temporary name and renamed so an interrupted download never looks complete.
        var temporary = localPath + ".part";
        await answer.WriteResponseStreamToFileAsync(temporary, false, cancellationToken).ConfigureAwait(false);
        File.Move(temporary, localPath, overwrite: true);
    }

    /// <summary>Uploads every file under <paramref name="localDirectory"/> below the prefix; returns the count.</summary>
    public async Task<int> UploadDirectoryAsync(string localDirectory, S3Uri prefix, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var count = 0;
        foreach (var file in Directory.EnumerateFiles(localDirectory, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(localDirectory, file).Replace(Path.DirectorySeparatorChar, '/');
            await UploadFileAsync(file, prefix.Append(relative), cancellationToken).ConfigureAwait(false);
            count++;
        }

        return count;
    }

    /// <summary>Downloads every object below the prefix into <paramref name="localDirectory"/>; returns the count.</summary>
    public async Task<int> DownloadPrefixAsync(S3Uri prefix, string localDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var root = Path.GetFullPath(localDirectory);
        var count = 0;
        var request = new ListObjectsV2Request { BucketName = prefix.Bucket, Prefix = prefix.Key };
        do
        {
            var page = await _s3.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.S3Objects ?? [])
            {
                if (item.Key.EndsWith('/'))
                {
                    continue; // folder placeholder objects
                }

                var relative = item.Key[prefix.Key.Length..].TrimStart('/');
                var target = Path.GetFullPath(Path.Combine(root, relative));
                if (!target.StartsWith(root, StringComparison.Ordinal))
                {
                    throw new InvalidDataException($"S3 key '{item.Key}' escapes the download folder.");
                }

                await DownloadFileAsync(new S3Uri(prefix.Bucket, item.Key), target, cancellationToken).ConfigureAwait(false);
                count++;
            }

            request.ContinuationToken = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);

        return count;
    }

    public void Dispose()
    {
        if (_owns)
        {
            _s3.Dispose();
        }
    }
}
