using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace D2.Trainer.Weights;

/// <summary>
/// <c>s3://bucket/key</c> objects through AWSSDK.S3 with AWSSDK.Core's own configuration: credentials from its chain
/// (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, SSO, web identity, the ECS/SageMaker container endpoint, EC2
/// instance metadata), the endpoint from <c>AWS_ENDPOINT_URL_S3</c> or <c>AWS_ENDPOINT_URL</c> (the SDK reads both), the
/// region from <c>AWS_REGION</c>/<c>AWS_DEFAULT_REGION</c>.
/// </summary>
internal static class S3Objects
{
    public const string ServiceEndpointVariable = "AWS_ENDPOINT_URL_S3";
    public const string GlobalEndpointVariable = "AWS_ENDPOINT_URL";
    const string IgnoreEndpointsVariable = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

    /// <summary><c>s3://bucket/key</c> as its bucket and key (the key as written, not unescaped).</summary>
    /// <exception cref="WeightsUnavailableException">no bucket or no key</exception>
    public static (string Bucket, string Key) Parse(string url, string setting)
    {
        var rest = url["s3://".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == rest.Length - 1)
            throw new WeightsUnavailableException($"{setting} '{url}' does not name an S3 object (s3://bucket/key).");
        return (rest[..slash], rest[(slash + 1)..]);
    }

    /// <summary>The endpoint the SDK will use instead of AWS's and the variable that set it, as the SDK chooses (the service
    /// variable first), or null.</summary>
    public static (string Url, string Variable)? ConfiguredEndpoint()
    {
        if (string.Equals(Environment.GetEnvironmentVariable(IgnoreEndpointsVariable), "true", StringComparison.OrdinalIgnoreCase))
            return null;
        foreach (var variable in new[] { ServiceEndpointVariable, GlobalEndpointVariable })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } url)
                return (url, variable);
        }
        return null;
    }

    /// <param name="timeout">how long one request may wait for a connection and an answer (the SDK retries on top)</param>
    public static AmazonS3Client CreateClient(TimeSpan timeout)
    {
        var config = new AmazonS3Config { Timeout = timeout };
        // AWS_REGION (SageMaker sets it in the container), else AWS_DEFAULT_REGION, else the SDK's chain (profile, instance metadata).
        var region = Environment.GetEnvironmentVariable("AWS_REGION") is { Length: > 0 } given ? given : Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION");
        if (!string.IsNullOrEmpty(region))
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        // S3-compatible servers (MinIO, LocalStack, a loopback test server) rarely answer bucket.host names: with an endpoint of
        // one's own, address buckets in the path, as the AWS CLI's `s3 --endpoint-url` users set addressing_style=path for.
        if (ConfiguredEndpoint() is not null)
            config.ForcePathStyle = true;
        return new AmazonS3Client(config);
    }

    /// <summary>The object's first bytes from <paramref name="offset"/> on (all of it at 0).</summary>
    public static Task<GetObjectResponse> GetAsync(AmazonS3Client s3, string bucket, string key, long offset, string? eTag, CancellationToken token)
    {
        var request = new GetObjectRequest { BucketName = bucket, Key = key };
        if (offset > 0)
        {
            // Resumes only the same object: a changed object answers 412 and the download starts over.
            request.ByteRange = new ByteRange($"bytes={offset}-");
            request.EtagToMatch = eTag;
        }
        return s3.GetObjectAsync(request, token);
    }

    /// <summary>One sentence on why the SDK failed: S3's error code and what it means here, missing credentials, or an
    /// endpoint that cannot be reached; null when <paramref name="error"/> is not the SDK's.</summary>
    public static string? Describe(Exception error, string bucket, string key)
    {
        var endpoint = ConfiguredEndpoint() is { } custom ? $"the S3 endpoint {custom.Url} ({custom.Variable})" : "S3";
        switch (error)
        {
            case AmazonS3Exception s3 when s3.ErrorCode == "NoSuchKey" || (s3.StatusCode == HttpStatusCode.NotFound && s3.ErrorCode is null or "NotFound"):
                return $"{endpoint} has no object '{key}' in bucket '{bucket}' (404 NoSuchKey)";
            case AmazonS3Exception s3 when s3.ErrorCode == "NoSuchBucket":
                return $"{endpoint} has no bucket '{bucket}' (404 NoSuchBucket)";
            case AmazonS3Exception s3 when s3.StatusCode == HttpStatusCode.Forbidden:
                return $"{endpoint} refused the credentials in use ({(int)s3.StatusCode} {s3.ErrorCode}: {s3.Message}); they need s3:GetObject on "
                    + $"arn:aws:s3:::{bucket}/{key} (in SageMaker: the job's execution role)";
            case AmazonServiceException service:
                return $"{endpoint} answered {(int)service.StatusCode} {service.ErrorCode}: {service.Message}";
            case AmazonClientException client when client.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase):
                // The SDK's own text is a header and one line per provider it tried; the remedy says more.
                return "no AWS credentials were found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE; in SageMaker, ECS "
                    + "and EC2 the role's credentials are found on their own)";
            case AmazonClientException client:
                return $"{endpoint} could not be used: {FirstLine(client.Message)}";
            case HttpRequestException http:
                return $"{endpoint} could not be reached: {http.Message}";
            default:
                return null;
        }
    }

    static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}
