using System.Text.Json.Nodes;
using Amazon.Runtime;
using D2.Operations.Aws;

namespace D2.Operations.Tests.Aws;

/// <summary>Reproduces every vector of Aws/Vectors/sigv4-vectors.json: public test data produced by botocore 1.43.11's
/// SigV4Auth/S3SigV4Auth with a frozen clock, copied into the test project so a clone needs nothing beside it.</summary>
public class SigV4SignerTests
{
    private static JsonArray Vectors()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Aws", "Vectors", "sigv4-vectors.json");
        return JsonNode.Parse(File.ReadAllText(path))!["vectors"]!.AsArray();
    }

    public static IEnumerable<TestCaseData> Cases() =>
        Vectors().Select(v => new TestCaseData((string)v!["name"]!).SetName("SigV4 " + (string)v["name"]!));

    [TestCaseSource(nameof(Cases))]
    public void ReproducesVector(string name)
    {
        var v = Vectors().Single(x => (string)x!["name"]! == name)!;
        var creds = v["credentials"]!;
        var credentials = new ImmutableCredentials(
            (string)creds["access_key_id"]!, (string)creds["secret_access_key"]!, (string?)creds["session_token"]);
        var headers = v["headers_before_signing"]!.AsArray()
            .Select(h => new KeyValuePair<string, string>((string)h![0]!, (string)h[1]!));
        var timestamp = DateTimeOffset.ParseExact((string)v["timestamp"]!, "yyyyMMdd'T'HHmmss'Z'",
            System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal);
        var body = Convert.FromBase64String((string?)v["body_base64"] ?? "");
        var s3 = ((string)v["signer"]!).Contains("S3", StringComparison.Ordinal);

        var result = SigV4Signer.Sign((string)v["method"]!, new Uri((string)v["url"]!), headers, body, credentials,
            (string)v["region"]!, (string)v["signing_name"]!, timestamp, s3);

        var expected = v["expected"]!;
        Assert.That(result.CanonicalRequest, Is.EqualTo((string)expected["canonical_request"]!));
        Assert.That(result.StringToSign, Is.EqualTo((string)expected["string_to_sign"]!));
        Assert.That(Convert.ToHexStringLower(SigV4Signer.SigningKey(credentials.SecretKey, ((string)v["timestamp"]!)[..8],
            (string)v["region"]!, (string)v["signing_name"]!)), Is.EqualTo((string)expected["signing_key_hex"]!));
        Assert.That(result.Signature, Is.EqualTo((string)expected["signature"]!));
        Assert.That(result.Authorization, Is.EqualTo((string)expected["authorization"]!));
        var added = expected["headers_added_by_signer"]!.AsObject()
            .ToDictionary(p => p.Key, p => (string)p.Value!);
        Assert.That(result.HeadersToAdd.ToDictionary(p => p.Key, p => p.Value), Is.EquivalentTo(added));
    }

    [Test]
    public void SignRequestSignsHttpRequestMessageLikeTheVector()
    {
        var v = Vectors().Single(x => (string)x!["name"]! == "sagemaker-runtime-invoke-endpoint-eu-west-1")!;
        var body = Convert.FromBase64String((string)v["body_base64"]!);
        using var request = new HttpRequestMessage(HttpMethod.Post, (string)v["url"]!)
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/x-image");
        request.Headers.TryAddWithoutValidation("Accept", "application/json");
        request.Headers.TryAddWithoutValidation("X-Amzn-SageMaker-Custom-Attributes", "trace-id=abc123;  score_threshold=0.5");
        request.Headers.TryAddWithoutValidation("amz-sdk-request", "attempt=1"); // added after signing by botocore: not signed
        request.Headers.UserAgent.ParseAdd("d2/1.0");

        var result = SigV4Signer.SignRequest(request, body, new ImmutableCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null),
            "eu-west-1", "sagemaker", new DateTimeOffset(2025, 1, 15, 12, 30, 45, TimeSpan.Zero));

        Assert.That(result.Signature, Is.EqualTo((string)v["expected"]!["signature"]!));
        Assert.That(request.Headers.GetValues("Authorization").Single(), Is.EqualTo((string)v["expected"]!["authorization"]!));
        Assert.That(request.Headers.GetValues("X-Amz-Date").Single(), Is.EqualTo("20250115T123045Z"));
    }
}
