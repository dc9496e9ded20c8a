namespace D2.Operations.Aws;

/// <summary>An attempt got no answer within <see cref="AwsClientOptions.Timeout"/> (retried like a connection error).</summary>
public sealed class AwsTimeoutException(string message) : TimeoutException(message);
