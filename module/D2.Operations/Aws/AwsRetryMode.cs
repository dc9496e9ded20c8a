namespace D2.Operations.Aws;

/// <summary>botocore's retry modes (see contracts §1.4).</summary>
public enum AwsRetryMode
{
    /// <summary>botocore's default: 5 attempts, uncapped jittered backoff, throttling codes + 5xx/429.</summary>
    Legacy,

    /// <summary>3 attempts, backoff capped at 20 s, wider transient/throttling lists and a client-side retry quota.</summary>
    Standard,
}
