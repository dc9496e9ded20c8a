using Amazon.Runtime;
using D2.Operations.Aws;

namespace D2.Operations.Tests.Aws;

internal static class AwsTestOptions
{
    public const string AccessKey = "AKIDEXAMPLE";
    public const string SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// <summary>Options pointing every service at <paramref name="server"/>, explicit credentials, tiny backoff.</summary>
    public static AwsClientOptions For(ScriptedAwsServer server, int maxAttempts = 3, AWSCredentials? credentials = null) => new()
    {
        Region = "eu-west-1",
        Credentials = credentials ?? new BasicAWSCredentials(AccessKey, SecretKey),
        MaxAttempts = maxAttempts,
        RetryMode = AwsRetryMode.Legacy,
        RetryBaseDelay = TimeSpan.FromMilliseconds(5),
        ServiceUrls = new Dictionary<string, Uri>(StringComparer.OrdinalIgnoreCase)
        {
            ["sagemaker"] = server.Url,
            ["sagemaker-runtime"] = server.Url,
            ["ecr"] = server.Url,
            ["sts"] = server.Url,
        },
    };
}
