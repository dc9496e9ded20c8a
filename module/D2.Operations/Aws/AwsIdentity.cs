using Amazon.Runtime;
using Amazon.Runtime.Credentials;

namespace D2.Operations.Aws;

/// <summary>Credentials and region the way the AWS SDK for .NET V4 resolves them (contracts §2).</summary>
public static class AwsIdentity
{
    /// <summary>Credentials a loopback endpoint (the local SageMaker) is signed with when no real ones resolve.</summary>
    public static ImmutableCredentials LocalCredentials { get; } = new("local", "local", null);

    /// <summary>
    /// Resolves the credentials source: explicit ones, else the SDK's default chain (env → web identity → profile
    /// incl. SSO/assume-role/process → container → IMDS). The returned object refreshes itself; call
    /// <see cref="AWSCredentials.GetCredentialsAsync"/> per request so long waits survive token expiry.
    /// </summary>
    public static async Task<AWSCredentials> ResolveCredentialsAsync(AwsClientOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Credentials is not null)
        {
            return options.Credentials;
        }

        using var resolver = new DefaultAWSCredentialsIdentityResolver();
        return await resolver.ResolveIdentityAsync(null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The client region: explicit, else the SDK's chain (AWS_REGION, profile region, IMDS), else AWS_DEFAULT_REGION
    /// (botocore's variable), else null.
    /// </summary>
    public static string? ResolveRegion(AwsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrWhiteSpace(options.Region))
        {
            return options.Region;
        }

        try
        {
            // The SDK caches the first answer process-wide; re-resolve so a changed AWS_REGION/AWS_PROFILE is seen.
            FallbackRegionFactory.Reset();
            var fromSdk = FallbackRegionFactory.GetRegionEndpoint(includeInstanceMetadata: false)?.SystemName;
            if (!string.IsNullOrWhiteSpace(fromSdk))
            {
                return fromSdk;
            }
        }
        catch (AmazonClientException)
        {
            // A broken profile is not fatal here: the variable below or an explicit region may still apply.
        }

        var fallback = Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION");
        return string.IsNullOrWhiteSpace(fallback) ? null : fallback;
    }

    /// <summary>True when the URL points at this machine (the local SageMaker), where placeholder credentials are fine.</summary>
    public static bool IsLoopback(Uri? url) =>
        url is not null && (url.IsLoopback || url.Host is "localhost" or "127.0.0.1" or "[::1]");
}
