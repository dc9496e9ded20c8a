using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace D2.Operations.Aws;

/// <summary>Turns an AWS error answer into a typed exception (contracts §1.2, §1.5, §1.6).</summary>
public static class AwsErrorParser
{
    /// <summary>Parses an error answer of a service speaking <paramref name="protocol"/> (<c>json</c>, <c>rest-json</c>, <c>query</c>).</summary>
    public static AwsServiceException Parse(string protocol, AwsResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return protocol == "query" ? ParseXml(response) : ParseJson(protocol, response);
    }

    /// <summary>
    /// botocore's normalisation: keep what precedes ':' and what follows the last '#'
    /// (<c>com.amazon.coral.service#UnrecognizedClientException</c> → <c>UnrecognizedClientException</c>).
    /// </summary>
    public static string NormaliseCode(string code)
    {
        var colon = code.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            code = code[..colon];
        }

        var hash = code.LastIndexOf('#');
        return (hash >= 0 ? code[(hash + 1)..] : code).Trim();
    }

    private static AwsServiceException ParseJson(string protocol, AwsResponse response)
    {
        JsonObject? body = null;
        try
        {
            body = response.Body.Length > 0 ? JsonNode.Parse(response.Body) as JsonObject : null;
        }
        catch (JsonException)
        {
            // Proxies and load balancers answer HTML; the status code then stands in for the code.
        }

        string? code;
        if (protocol == "rest-json")
        {
            code = response.Header("X-Amzn-ErrorType") ?? Text(body, "code") ?? Text(body, "Code") ?? Text(body, "__type");
        }
        else
        {
            code = Text(body, "__type") ?? response.Header("X-Amzn-ErrorType");
        }

        // Query-compatible services put the query-protocol code here; it wins (botocore does the same).
        if (response.Header("x-amzn-query-error") is { } queryError)
        {
            code = queryError.Split(';')[0];
        }

        code = string.IsNullOrWhiteSpace(code) ? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture) : NormaliseCode(code);
        var message = Text(body, "message") ?? Text(body, "Message") ?? (body is null ? Snippet(response) : "");
        if (code == "ModelError")
        {
            // The runtime relays what the container answered; keep it for the caller.
            return new ModelErrorException(code, message, response.StatusCode, response.RequestId)
            {
                OriginalStatusCode = body?["OriginalStatusCode"] is JsonValue status && status.TryGetValue<int>(out var s) ? s : null,
                OriginalMessage = Text(body, "OriginalMessage"),
                LogStreamArn = Text(body, "LogStreamArn"),
            };
        }

        return AwsServiceException.Create(code, message, response.StatusCode, response.RequestId);
    }

    private static AwsServiceException ParseXml(AwsResponse response)
    {
        string? code = null, message = null, requestId = null;
        try
        {
            var doc = XDocument.Parse(System.Text.Encoding.UTF8.GetString(response.Body));
            var error = doc.Descendants().FirstOrDefault(e => e.Name.LocalName == "Error");
            code = error?.Elements().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value;
            message = error?.Elements().FirstOrDefault(e => e.Name.LocalName == "Message")?.Value;
            requestId = doc.Descendants().FirstOrDefault(e => e.Name.LocalName == "RequestId")?.Value;
        }
        catch (System.Xml.XmlException)
        {
            // Not XML: fall back to the status code below.
        }

        if (response.Header("x-amzn-query-error") is { } queryError)
        {
            code = queryError.Split(';')[0];
        }

        code = string.IsNullOrWhiteSpace(code) ? ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture) : NormaliseCode(code);
        // The query protocol carries the request id in the body; the header is the fallback.
        return AwsServiceException.Create(code, message ?? Snippet(response), response.StatusCode, requestId ?? response.RequestId);
    }

    private static string? Text(JsonObject? body, string name) =>
        body?[name] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static string Snippet(AwsResponse response)
    {
        var text = System.Text.Encoding.UTF8.GetString(response.Body);
        return text.Length > 200 ? text[..200] + "…" : text;
    }

    internal static bool IsSuccess(HttpStatusCode status) => (int)status is >= 200 and < 300;
}
