using Amazon.Runtime;

namespace D2.Operations.Aws;

/// <summary>Settings shared by the AWS clients. Everything left unset comes from the AWS SDK's resolution chains.</summary>
public sealed class AwsClientOptions
{
    /// <summary>Region (e.g. <c>eu-west-1</c>); null resolves AWS_REGION, the profile's region, IMDS, then AWS_DEFAULT_REGION.</summary>
    public string? Region { get; init; }

    /// <summary>
    /// Endpoint overrides keyed by service (<c>sagemaker</c>, <c>sagemaker-runtime</c>, <c>ecr</c>, <c>sts</c>, <c>s3</c>):
    /// any absolute URL, e.g. <c>http://127.0.0.1:8080</c> for the local SageMaker.
    /// </summary>
    public IDictionary<string, Uri> ServiceUrls { get; init; } = new Dictionary<string, Uri>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Explicit credentials; null uses the SDK's default chain (env, web identity, profiles/SSO, container, IMDS).</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>Attempts per call including the first; null reads AWS_MAX_ATTEMPTS, else 5 (legacy) or 3 (standard).</summary>
    public int? MaxAttempts { get; init; }

    /// <summary>Retry mode; null reads AWS_RETRY_MODE (botocore's default is legacy).</summary>
    public AwsRetryMode? RetryMode { get; init; }

    /// <summary>Base of the exponential backoff: retry n waits rand(0,1) × base × 2^(n-1). AWS uses 1 s; tests shrink it.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Use FIPS endpoints.</summary>
    public bool UseFips { get; init; }

    /// <summary>Use dual-stack (IPv4 + IPv6) endpoints.</summary>
    public bool UseDualStack { get; init; }

    /// <summary>Per-attempt HTTP timeout. InvokeEndpoint containers get 60 s, so AWS recommends ~70 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(70);

    /// <summary>HTTP client to use (not disposed by the clients); wins over <see cref="HttpHandler"/>.</summary>
    public HttpClient? HttpClient { get; init; }

    /// <summary>Handler for a client the AWS client creates and owns (e.g. a test handler).</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>Clock used for signing (tests may pin it).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The endpoint override for <paramref name="service"/>, if any.</summary>
    public Uri? GetServiceUrl(string service) => ServiceUrls.TryGetValue(service, out var url) ? url : null;
}
