namespace D2.Operations.Aws;

/// <summary>A request ready to sign: method, path (and query) relative to the service endpoint, headers, body.</summary>
/// <param name="Operation">Operation name, for errors and logs.</param>
/// <param name="Method">HTTP method.</param>
/// <param name="PathAndQuery">Escaped path (and query) appended to the endpoint, e.g. <c>/</c> or <c>/endpoints/x/invocations</c>.</param>
/// <param name="Headers">Headers to sign and send; <c>Content-Type</c> goes to the content.</param>
/// <param name="Body">Body bytes (empty for none).</param>
public sealed record AwsRequest(
    string Operation,
    HttpMethod Method,
    string PathAndQuery,
    IReadOnlyList<KeyValuePair<string, string>> Headers,
    byte[] Body);
