namespace D2.Operations.Aws;

/// <summary>Default hosts of the services used here, per partition and variant (contracts §1.1).</summary>
public static class AwsEndpoints
{
    /// <summary>DNS suffix of the partition that holds <paramref name="region"/>.</summary>
    public static string DnsSuffix(string region) =>
        region.StartsWith("cn-", StringComparison.Ordinal) ? "amazonaws.com.cn" : "amazonaws.com";

    private static string DualStackSuffix(string region) =>
        region.StartsWith("cn-", StringComparison.Ordinal) ? "api.amazonwebservices.com.cn" : "api.aws";

    /// <summary>HTTPS endpoint of <paramref name="service"/> in <paramref name="region"/>.</summary>
    /// <param name="service"><c>sagemaker</c>, <c>sagemaker-runtime</c>, <c>ecr</c> or <c>sts</c>.</param>
    /// <param name="region">Client region.</param>
    /// <param name="fips">FIPS variant.</param>
    /// <param name="dualStack">Dual-stack variant.</param>
    public static Uri Resolve(string service, string region, bool fips = false, bool dualStack = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(region);
        var suffix = dualStack ? DualStackSuffix(region) : DnsSuffix(region);
        var host = (service, fips, dualStack) switch
        {
            ("sagemaker", false, _) => $"api.sagemaker.{region}.{suffix}",
            ("sagemaker", true, _) => $"api-fips.sagemaker.{region}.{suffix}",
            ("sagemaker-runtime", false, _) => $"runtime.sagemaker.{region}.{suffix}",
            ("sagemaker-runtime", true, _) => $"runtime-fips.sagemaker.{region}.{suffix}",
            ("ecr", false, false) => $"api.ecr.{region}.{suffix}",
            ("ecr", false, true) => $"ecr.{region}.{suffix}",
            ("ecr", true, _) => $"ecr-fips.{region}.{suffix}",
            ("sts", false, _) => $"sts.{region}.{suffix}",
            ("sts", true, _) => $"sts-fips.{region}.{suffix}",
            _ => throw new ArgumentException($"No endpoint rule for service '{service}'.", nameof(service)),
        };
        return new Uri($"https://{host}/");
    }
}
