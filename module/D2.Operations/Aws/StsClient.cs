using System.Text;
using System.Xml.Linq;
using D2.Operations.Aws.Sts;

namespace D2.Operations.Aws;

/// <summary>AWS STS over the query protocol (form POST, XML answer): GetCallerIdentity, the credentials probe.</summary>
public sealed class StsClient(AwsClientOptions options) : IDisposable
{
    private readonly AwsTransport _transport = new("sts", options);

    public AwsTransport Transport => _transport;

    /// <summary>Needs no IAM permission: succeeds whenever the credentials are valid.</summary>
    public async Task<GetCallerIdentityResponse> GetCallerIdentityAsync(CancellationToken cancellationToken = default)
    {
        const string operation = "GetCallerIdentity";
        var body = $"Action={operation}&Version={_transport.Model.Metadata.ApiVersion}";
        var request = new AwsRequest(
            operation,
            HttpMethod.Post,
            "/",
            [new("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            Encoding.UTF8.GetBytes(body));
        var answer = await _transport.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return Parse(answer);
    }

    public void Dispose() => _transport.Dispose();

    internal static GetCallerIdentityResponse Parse(AwsResponse answer)
    {
        var doc = XDocument.Parse(Encoding.UTF8.GetString(answer.Body));
        string? Find(string name) => doc.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
        var result = doc.Descendants().FirstOrDefault(e => e.Name.LocalName == "GetCallerIdentityResult")
            ?? throw new FormatException("STS answered without a GetCallerIdentityResult element.");
        string Member(string name) =>
            result.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value
            ?? throw new FormatException($"STS GetCallerIdentityResult has no {name}.");
        return new GetCallerIdentityResponse(Member("UserId"), Member("Account"), Member("Arn"), Find("RequestId") ?? answer.RequestId);
    }
}
