using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using D2.Operations.Aws;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace D2.Trainer.Tests.Weights;

/// <summary>
/// Enough of S3's REST API on 127.0.0.1:0 (Kestrel) for GetObject and HeadObject with path-style addressing
/// (<c>/bucket/key</c>): Range and If-Match, ETag/Last-Modified, and S3's XML error bodies (NoSuchBucket, NoSuchKey,
/// AccessDenied, SignatureDoesNotMatch). Every request must carry a SigV4 Authorization header; the server recomputes the
/// signature from the request it received (canonical request per the SigV4 specification, signing key from the
/// repository's <see cref="SigV4Signer"/>) with the secret of <see cref="AccessKeyId"/> and answers SignatureDoesNotMatch
/// when it differs, so every 200 here is a verified signature.
/// </summary>
internal sealed partial class LoopbackS3Server : IAsyncDisposable
{
    public const string AccessKeyId = "AKIDLOOPBACKTEST";
    public const string SecretAccessKey = "loopback/Secret+Key/For/Tests/Only00000";
    /// <summary>Known to the server but refused for every object, as an IAM user without s3:GetObject.</summary>
    public const string DeniedAccessKeyId = "AKIDNOGETOBJECT";
    /// <summary>The path of the container credential endpoint (what SageMaker and ECS serve at 169.254.170.2), handing out
    /// <see cref="AccessKeyId"/> with <see cref="SessionToken"/>; S3 requests signed with the key must then carry the token.</summary>
    public const string ContainerCredentialsPath = "/_container-credentials";
    public const string SessionToken = "loopback-session-token";

    readonly WebApplication _app;
    readonly ConcurrentDictionary<string, byte[]> _objects = new();
    readonly HashSet<string> _buckets;

    LoopbackS3Server(WebApplication app, IEnumerable<string> buckets) => (_app, _buckets) = (app, [.. buckets]);

    public Uri Url { get; private set; } = null!;

    /// <summary>Every request as received.</summary>
    public ConcurrentQueue<S3Request> Requests { get; } = new();

    /// <summary>The next GetObject without a Range sends this many bytes (Content-Length still the whole object) and drops the connection.</summary>
    public long? CutNextAfter { get; set; }

    /// <summary>The next GetObject sends its headers and then nothing until the client gives up.</summary>
    public bool StallNext { get; set; }

    public void Put(string bucket, string key, byte[] data) => _objects[bucket + "/" + key] = data;

    public static async Task<LoopbackS3Server> StartAsync(params string[] buckets)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new LoopbackS3Server(app, buckets);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    async Task HandleAsync(HttpContext context)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        var (signatureValid, canonicalRequest) = VerifySignature(context.Request.Method, rawTarget, headers);
        var request = new S3Request(context.Request.Method, rawTarget, headers, signatureValid, canonicalRequest);
        Requests.Enqueue(request);
        var path = Uri.UnescapeDataString(rawTarget.Split('?', 2)[0].TrimStart('/'));
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var (bucket, key) = slash < 0 ? (path, "") : (path[..slash], path[(slash + 1)..]);
        context.Response.Headers["x-amz-request-id"] = "LOOPBACK" + Requests.Count.ToString(CultureInfo.InvariantCulture);
        if (rawTarget == ContainerCredentialsPath)
        {
            context.Response.ContentType = "application/json";
            var expiration = DateTime.UtcNow.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            await context.Response.WriteAsync($"{{\"AccessKeyId\": \"{AccessKeyId}\", \"SecretAccessKey\": \"{SecretAccessKey}\", "
                + $"\"Token\": \"{SessionToken}\", \"Expiration\": \"{expiration}\"}}");
            return;
        }

        if (!headers.ContainsKey("authorization"))
        {
            await Error(context, 403, "AccessDenied", "Access Denied", key);
            return;
        }
        if (signatureValid != true)
        {
            await Error(context, 403, signatureValid is null ? "InvalidAccessKeyId" : "SignatureDoesNotMatch",
                signatureValid is null ? "The AWS Access Key Id you provided does not exist in our records."
                    : "The request signature we calculated does not match the signature you provided. Check your key and signing method.", key);
            return;
        }
        if (!_buckets.Contains(bucket))
        {
            await Error(context, 404, "NoSuchBucket", "The specified bucket does not exist", key, bucket);
            return;
        }
        if (AuthorizationPattern().Match(headers["authorization"]).Groups["akid"].Value == DeniedAccessKeyId)
        {
            await Error(context, 403, "AccessDenied", "Access Denied", key);
            return;
        }
        if (key.Length == 0 || !_objects.TryGetValue(bucket + "/" + key, out var data))
        {
            await Error(context, 404, "NoSuchKey", "The specified key does not exist.", key);
            return;
        }
        var eTag = "\"" + Convert.ToHexStringLower(MD5.HashData(data)) + "\"";
        if (headers.TryGetValue("if-match", out var ifMatch) && ifMatch != eTag)
        {
            await Error(context, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold", key);
            return;
        }
        context.Response.Headers.ETag = eTag;
        context.Response.Headers.LastModified = "Fri, 04 Dec 2026 12:00:00 GMT";
        context.Response.Headers.AcceptRanges = "bytes";
        context.Response.ContentType = "binary/octet-stream";
        if (HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.ContentLength = data.Length;
            return;
        }
        if (StallNext)
        {
            StallNext = false;
            context.Response.ContentLength = data.Length;
            await context.Response.Body.FlushAsync();
            try
            {
                await Task.Delay(TimeSpan.FromMinutes(2), context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
            }
            return;
        }
        if (CutNextAfter is { } cut && !headers.ContainsKey("range"))
        {
            CutNextAfter = null;
            context.Response.ContentLength = data.Length;
            await context.Response.Body.WriteAsync(data.AsMemory(0, (int)cut));
            await context.Response.Body.FlushAsync();
            // Time for the client to read what was sent before the reset discards it.
            await Task.Delay(500);
            context.Abort();
            return;
        }
        if (headers.TryGetValue("range", out var range) && RangePattern().Match(range) is { Success: true } match)
        {
            var from = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            var to = match.Groups[2].Success ? Math.Min(long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), data.Length - 1) : data.Length - 1;
            if (from >= data.Length)
            {
                await Error(context, 416, "InvalidRange", "The requested range is not satisfiable", key);
                return;
            }
            context.Response.StatusCode = 206;
            context.Response.Headers.ContentRange = $"bytes {from}-{to}/{data.Length}";
            context.Response.ContentLength = to - from + 1;
            await context.Response.Body.WriteAsync(data.AsMemory((int)from, (int)(to - from + 1)));
            return;
        }
        context.Response.ContentLength = data.Length;
        await context.Response.Body.WriteAsync(data);
    }

    /// <summary>S3's error document (HEAD answers carry no body, as S3's).</summary>
    static async Task Error(HttpContext context, int status, string code, string message, string key, string? bucket = null)
    {
        context.Response.StatusCode = status;
        if (HttpMethods.IsHead(context.Request.Method))
            return;
        context.Response.ContentType = "application/xml";
        var detail = bucket is not null ? $"<BucketName>{bucket}</BucketName>" : key.Length > 0 ? $"<Key>{key}</Key>" : "";
        await context.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{detail}"
            + $"<RequestId>{context.Response.Headers["x-amz-request-id"]}</RequestId><HostId>loopback</HostId></Error>");
    }

    /// <summary>
    /// SigV4 recomputed from the received request: the canonical request of the headers the client listed in SignedHeaders
    /// (values trimmed, inner spaces collapsed), the path as sent (S3 does not encode it twice), the sorted query, and the
    /// client's x-amz-content-sha256; then the string to sign and the HMAC with the signing key. null: unknown access key.
    /// </summary>
    static (bool? Valid, string? CanonicalRequest) VerifySignature(string method, string rawTarget, IReadOnlyDictionary<string, string> headers)
    {
        if (!headers.TryGetValue("authorization", out var authorization) || AuthorizationPattern().Match(authorization) is not { Success: true } auth)
            return (false, null);
        if (auth.Groups["akid"].Value is not (AccessKeyId or DeniedAccessKeyId))
            return (null, null);
        // Temporary credentials (the container endpoint's) are valid only with their token, which must be signed.
        if (headers.TryGetValue("x-amz-security-token", out var token) && (token != SessionToken || !auth.Groups["signed"].Value.Split(';').Contains("x-amz-security-token")))
            return (false, null);
        var signedHeaders = auth.Groups["signed"].Value.Split(';');
        if (signedHeaders.Any(h => !headers.ContainsKey(h)) || !headers.TryGetValue("x-amz-date", out var amzDate)
            || !headers.TryGetValue("x-amz-content-sha256", out var payloadHash))
            return (false, null);
        var parts = rawTarget.Split('?', 2);
        var query = parts.Length < 2 || parts[1].Length == 0 ? "" : string.Join('&', parts[1].Split('&')
            .Select(p => p.Contains('=') ? p : p + "=").OrderBy(p => p, StringComparer.Ordinal));
        var canonical = new StringBuilder().Append(method).Append('\n').Append(parts[0]).Append('\n').Append(query).Append('\n');
        foreach (var name in signedHeaders)
            canonical.Append(name).Append(':').Append(Whitespace().Replace(headers[name].Trim(), " ")).Append('\n');
        canonical.Append('\n').Append(auth.Groups["signed"].Value).Append('\n').Append(payloadHash);
        var canonicalRequest = canonical.ToString();
        var scope = $"{auth.Groups["date"].Value}/{auth.Groups["region"].Value}/{auth.Groups["service"].Value}/aws4_request";
        var stringToSign = $"{SigV4Signer.Algorithm}\n{amzDate}\n{scope}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";
        var key = SigV4Signer.SigningKey(SecretAccessKey, auth.Groups["date"].Value, auth.Groups["region"].Value, auth.Groups["service"].Value);
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        return (signature == auth.Groups["signature"].Value, canonicalRequest);
    }

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<akid>[A-Z0-9]+)/(?<date>\d{8})/(?<region>[a-z0-9-]+)/(?<service>[a-z0-9]+)/aws4_request, ?SignedHeaders=(?<signed>[a-z0-9;-]+), ?Signature=(?<signature>[0-9a-f]{64})$")]
    internal static partial Regex AuthorizationPattern();

    [GeneratedRegex(@"^bytes=(\d+)-(\d+)?$")]
    private static partial Regex RangePattern();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A request as the server received it: headers by lowercase name; <paramref name="SignatureValid"/> null for an unknown key.</summary>
internal sealed record S3Request(string Method, string RawTarget, IReadOnlyDictionary<string, string> Headers, bool? SignatureValid, string? CanonicalRequest);
