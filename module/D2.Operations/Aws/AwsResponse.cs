using System.Net;

namespace D2.Operations.Aws;

/// <summary>A raw answer: status, headers (response and content, case-insensitive) and the whole body.</summary>
public sealed class AwsResponse(HttpStatusCode statusCode, IReadOnlyDictionary<string, string> headers, byte[] body)
{
    public HttpStatusCode StatusCode { get; } = statusCode;

    /// <summary>Response and content headers; repeated headers joined with ','.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; } = headers;

    public byte[] Body { get; } = body;

    /// <summary>The request id AWS returns in <c>x-amzn-RequestId</c> (S3-style <c>x-amz-request-id</c> as fallback).</summary>
    public string? RequestId => Header("x-amzn-RequestId") ?? Header("x-amz-request-id");

    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    internal static async Task<AwsResponse> ReadAsync(HttpResponseMessage message, CancellationToken cancellationToken)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in message.Headers.NonValidated)
        {
            headers[name] = string.Join(',', values);
        }

        foreach (var (name, values) in message.Content.Headers.NonValidated)
        {
            headers[name] = string.Join(',', values);
        }

        var body = await message.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return new AwsResponse(message.StatusCode, headers, body);
    }
}
