namespace D2.Operations.Aws;

/// <summary>Everything a SigV4 signing pass produced, intermediate strings included (for tests and diagnostics).</summary>
/// <param name="CanonicalRequest">Step 3 of the algorithm.</param>
/// <param name="StringToSign">Step 4.</param>
/// <param name="Signature">Lowercase hex HMAC-SHA256 of the string to sign.</param>
/// <param name="SignedHeaders">Lowercased, sorted, ';'-joined header names.</param>
/// <param name="Authorization">The <c>Authorization</c> header value.</param>
/// <param name="HeadersToAdd">Headers the request must carry, in order: <c>X-Amz-Date</c>, <c>X-Amz-Security-Token</c>
/// (temporary credentials), <c>X-Amz-Content-SHA256</c> (S3) and <c>Authorization</c>.</param>
public sealed record SigV4Result(
    string CanonicalRequest,
    string StringToSign,
    string Signature,
    string SignedHeaders,
    string Authorization,
    IReadOnlyList<KeyValuePair<string, string>> HeadersToAdd);
