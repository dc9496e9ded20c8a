using System.Globalization;
using System.Text;
using Amazon.Runtime;
using Amazon.Util;

namespace D2.Operations.Aws;

/// <summary>
/// AWS Signature Version 4 (header signing), canonicalised the way botocore does it so that requests sign exactly
/// as the AWS CLI's would. Hashing and HMAC come from AWSSDK.Core; only the canonical forms are written here.
/// </summary>
public static class SigV4Signer
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>SHA-256 of an empty payload.</summary>
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    // Hop-by-hop and client-side headers botocore never signs, plus those it adds only after signing
    // (Content-Length, amz-sdk-*), so the signed set matches the CLI's byte for byte.
    private static readonly HashSet<string> UnsignedHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "user-agent", "expect", "transfer-encoding", "x-amzn-trace-id", "connection", "keep-alive", "te", "trailer",
        "upgrade", "authorization", "content-length", "amz-sdk-invocation-id", "amz-sdk-request",
    };

    /// <summary>Signs a request described by its parts.</summary>
    /// <param name="method">HTTP method.</param>
    /// <param name="uri">Final request URI (path and query already percent-encoded as sent).</param>
    /// <param name="headers">Headers to send, before signing (Host is taken from <paramref name="uri"/>).</param>
    /// <param name="payload">Request body (empty for none).</param>
    /// <param name="credentials">Credentials; a session token is signed as <c>X-Amz-Security-Token</c>.</param>
    /// <param name="region">Credential scope region (the client region, also for FIPS/dual-stack hosts).</param>
    /// <param name="service">Signing name (e.g. <c>sagemaker</c> for both control plane and runtime).</param>
    /// <param name="timestamp">Signing time; converted to UTC.</param>
    /// <param name="s3">S3 rules: path signed as sent (no second encoding) and <c>X-Amz-Content-SHA256</c> added.</param>
    public static SigV4Result Sign(
        string method,
        Uri uri,
        IEnumerable<KeyValuePair<string, string>> headers,
        ReadOnlySpan<byte> payload,
        ImmutableCredentials credentials,
        string region,
        string service,
        DateTimeOffset timestamp,
        bool s3 = false)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(credentials);

        var amzDate = timestamp.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var dateStamp = amzDate[..8];
        var payloadHash = Hex(CryptoUtilFactory.CryptoInstance.ComputeSHA256Hash(payload.ToArray()));

        var added = new List<KeyValuePair<string, string>> { new("X-Amz-Date", amzDate) };
        if (credentials.UseToken)
        {
            added.Add(new("X-Amz-Security-Token", credentials.Token));
        }

        if (s3)
        {
            added.Add(new("X-Amz-Content-SHA256", payloadHash));
        }

        // Header names are case-insensitive; repeated headers are joined with ',' as on the wire.
        var canonicalHeaders = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["host"] = uri.Authority };
        // Headers the signer sets replace any the caller passed (a re-signed retry carries the previous ones).
        var replaced = added.Select(h => h.Key).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers.Where(h => !replaced.Contains(h.Key)).Concat(added))
        {
            var lower = name.ToLowerInvariant();
            if (UnsignedHeaders.Contains(lower) || lower.StartsWith("proxy-", StringComparison.Ordinal) || lower == "host")
            {
                continue;
            }

            var normalised = CollapseWhitespace(value);
            canonicalHeaders[lower] = canonicalHeaders.TryGetValue(lower, out var existing) ? existing + "," + normalised : normalised;
        }

        var signedHeaders = string.Join(';', canonicalHeaders.Keys);
        var canonicalRequest = new StringBuilder()
            .Append(method.ToUpperInvariant()).Append('\n')
            .Append(CanonicalPath(uri, s3)).Append('\n')
            .Append(CanonicalQuery(uri)).Append('\n')
            .AppendJoin("", canonicalHeaders.Select(h => h.Key + ":" + h.Value + "\n")).Append('\n')
            .Append(signedHeaders).Append('\n')
            .Append(payloadHash)
            .ToString();

        var scope = $"{dateStamp}/{region}/{service}/aws4_request";
        var stringToSign = $"{Algorithm}\n{amzDate}\n{scope}\n{Hex(CryptoUtilFactory.CryptoInstance.ComputeSHA256Hash(Encoding.UTF8.GetBytes(canonicalRequest)))}";

        var key = SigningKey(credentials.SecretKey, dateStamp, region, service);
        var signature = Hex(Hmac(key, stringToSign));
        var authorization = $"{Algorithm} Credential={credentials.AccessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
        added.Add(new("Authorization", authorization));

        return new SigV4Result(canonicalRequest, stringToSign, signature, signedHeaders, authorization, added);
    }

    /// <summary>
    /// Signs an <see cref="HttpRequestMessage"/> in place (its headers and content headers), adding the headers of
    /// <see cref="SigV4Result.HeadersToAdd"/>. <paramref name="payload"/> must be the exact body bytes.
    /// </summary>
    public static SigV4Result SignRequest(
        HttpRequestMessage request,
        ReadOnlySpan<byte> payload,
        ImmutableCredentials credentials,
        string region,
        string service,
        DateTimeOffset timestamp,
        bool s3 = false)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new ArgumentException("The request has no URI.", nameof(request));
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in request.Headers.NonValidated)
        {
            headers.Add(new(name, string.Join(',', values)));
        }

        if (request.Content is not null)
        {
            foreach (var (name, values) in request.Content.Headers.NonValidated)
            {
                headers.Add(new(name, string.Join(',', values)));
            }
        }

        var result = Sign(request.Method.Method, uri, headers, payload, credentials, region, service, timestamp, s3);
        foreach (var (name, value) in result.HeadersToAdd)
        {
            request.Headers.Remove(name);
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return result;
    }

    /// <summary>HMAC chain "AWS4"+secret → date → region → service → "aws4_request".</summary>
    public static byte[] SigningKey(string secretKey, string dateStamp, string region, string service)
    {
        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secretKey), dateStamp);
        key = Hmac(key, region);
        key = Hmac(key, service);
        return Hmac(key, "aws4_request");
    }

    /// <summary>RFC 3986 percent-encoding of UTF-8 bytes: only A-Z a-z 0-9 - _ . ~ (and '/' when asked) stay literal.</summary>
    public static string UriEncode(string value, bool keepSlash)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.' or '~'
                || (keepSlash && c == '/'))
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    private static string CanonicalPath(Uri uri, bool s3)
    {
        // AbsolutePath is the path as sent (escaped, dot segments already removed by Uri).
        var path = uri.AbsolutePath;
        if (path.Length == 0)
        {
            return "/";
        }

        // Non-S3 services sign the encoded path encoded once more ('%' → '%25'); S3 signs it as sent.
        return s3 ? path : UriEncode(path, keepSlash: true);
    }

    private static string CanonicalQuery(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        if (query.Length == 0)
        {
            return "";
        }

        var pairs = new List<(string Key, string Value)>();
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? part : part[..eq];
            var value = eq < 0 ? "" : part[(eq + 1)..];
            pairs.Add((UriEncode(Uri.UnescapeDataString(key), false), UriEncode(Uri.UnescapeDataString(value), false)));
        }

        return string.Join('&', pairs
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Key + "=" + p.Value));
    }

    private static string CollapseWhitespace(string value)
    {
        var sb = new StringBuilder(value.Length);
        var pendingSpace = false;
        foreach (var c in value.AsSpan().Trim())
        {
            if (c is ' ' or '\t' or '\n' or '\r')
            {
                pendingSpace = true;
                continue;
            }

            if (pendingSpace)
            {
                sb.Append(' ');
                pendingSpace = false;
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static byte[] Hmac(byte[] key, string data) =>
        CryptoUtilFactory.CryptoInstance.HMACSignBinary(Encoding.UTF8.GetBytes(data), key, SigningAlgorithm.HmacSHA256);

    private static string Hex(byte[] bytes) => AWSSDKUtils.ToHex(bytes, true);
}
