using System.Net;
using System.Text;
using D2.Operations.Aws;

namespace D2.Operations.Tests.Aws;

public class ErrorParsingTests
{
    private static AwsResponse Answer(int status, string body, params (string, string)[] headers) =>
        new((HttpStatusCode)status, headers.ToDictionary(h => h.Item1, h => h.Item2, StringComparer.OrdinalIgnoreCase), Encoding.UTF8.GetBytes(body));

    [TestCase("com.amazon.coral.service#UnrecognizedClientException", "UnrecognizedClientException")]
    [TestCase("ResourceNotFound:http://internal.amazon.com/coral/com.amazon.sagemaker/", "ResourceNotFound")]
    [TestCase("aws.protocoltests#Foo:bar", "Foo")]
    [TestCase("ValidationException", "ValidationException")]
    public void CodeNormalisation(string raw, string expected) =>
        Assert.That(AwsErrorParser.NormaliseCode(raw), Is.EqualTo(expected));

    [Test]
    public void Json11CoralError()
    {
        var error = AwsErrorParser.Parse("json", Answer(400,
            """{"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token included in the request is invalid."}""",
            ("x-amzn-RequestId", "abc-123")));

        Assert.That(error, Is.TypeOf<AwsAuthenticationException>());
        Assert.That(error.ErrorCode, Is.EqualTo("UnrecognizedClientException"));
        Assert.That(error.ErrorMessage, Is.EqualTo("The security token included in the request is invalid."));
        Assert.That(error.RequestId, Is.EqualTo("abc-123"));
    }

    [Test]
    public void QueryErrorHeaderOverridesTheCode()
    {
        var error = AwsErrorParser.Parse("json", Answer(400, """{"__type":"SomethingElse","Message":"m"}""", ("x-amzn-query-error", "ThrottlingException;Sender")));
        Assert.That(error, Is.TypeOf<ThrottlingException>());
        Assert.That(error.ErrorMessage, Is.EqualTo("m"));
    }

    [TestCase("ResourceNotFound", typeof(ResourceNotFoundException))]
    [TestCase("ResourceInUse", typeof(ResourceInUseException))]
    [TestCase("ResourceLimitExceeded", typeof(ResourceLimitExceededException))]
    [TestCase("RepositoryNotFoundException", typeof(RepositoryNotFoundException))]
    [TestCase("RepositoryAlreadyExistsException", typeof(RepositoryAlreadyExistsException))]
    [TestCase("ImageNotFoundException", typeof(ImageNotFoundException))]
    [TestCase("SomeNewError", typeof(AwsServiceException))]
    public void ModeledCodesMapToTypes(string code, Type type) =>
        Assert.That(AwsErrorParser.Parse("json", Answer(400, $$"""{"__type":"{{code}}","message":"x"}""")), Is.TypeOf(type));

    [Test]
    public void StatusCodeStandsInForAMissingCode()
    {
        var error = AwsErrorParser.Parse("json", Answer(502, "<html>Bad gateway</html>"));
        Assert.That(error.ErrorCode, Is.EqualTo("502"));
        Assert.That(error.ErrorMessage, Does.Contain("Bad gateway"));
    }

    [Test]
    public void RestJsonTakesTheCodeFromTheHeader()
    {
        var error = AwsErrorParser.Parse("rest-json", Answer(424,
            """{"message":"Received client error (400) from primary","OriginalStatusCode":400,"OriginalMessage":"bad image","LogStreamArn":"arn:aws:logs:x"}""",
            ("X-Amzn-ErrorType", "ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker.runtime/")));

        var modelError = (ModelErrorException)error;
        Assert.That(modelError.ErrorCode, Is.EqualTo("ModelError"));
        Assert.That(modelError.OriginalStatusCode, Is.EqualTo(400));
        Assert.That(modelError.OriginalMessage, Is.EqualTo("bad image"));
        Assert.That(modelError.LogStreamArn, Is.EqualTo("arn:aws:logs:x"));
    }

    [Test]
    public void QueryXmlError()
    {
        var error = AwsErrorParser.Parse("query", Answer(403, """
            <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error>
              <RequestId>4fd5-9a3b</RequestId>
            </ErrorResponse>
            """));

        Assert.That(error, Is.TypeOf<AwsAuthenticationException>());
        Assert.That(error.ErrorCode, Is.EqualTo("InvalidClientTokenId"));
        Assert.That(error.RequestId, Is.EqualTo("4fd5-9a3b"));
        Assert.That(error.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
    }
}
