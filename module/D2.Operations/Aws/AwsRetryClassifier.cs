using System.Net;
using System.Text.Json.Nodes;
using D2.Operations.ServiceModels;

namespace D2.Operations.Aws;

/// <summary>
/// Decides which failures are retried, with botocore's semantics: legacy mode reads the embedded retry.json
/// (botocore's _retry.json), standard mode uses its transient and throttling lists (contracts §1.4).
/// </summary>
public static class AwsRetryClassifier
{
    private static readonly HashSet<string> StandardThrottlingCodes = new(StringComparer.Ordinal)
    {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    };

    private static readonly HashSet<string> StandardTransientCodes = new(StringComparer.Ordinal)
    {
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    };

    private static readonly HashSet<int> StandardTransientStatuses = [500, 502, 503, 504];

    private static readonly Lazy<LegacyPolicy> Legacy = new(LoadLegacy);

    /// <summary>True for throttling error codes (either mode's list).</summary>
    public static bool IsThrottlingCode(string errorCode) =>
        StandardThrottlingCodes.Contains(errorCode) || Legacy.Value.Codes(null).Contains(errorCode);

    /// <summary>Whether an error answer is retried.</summary>
    /// <param name="mode">Retry mode.</param>
    /// <param name="service">Service key (<c>sts</c> has an extra rule in legacy mode).</param>
    /// <param name="statusCode">HTTP status.</param>
    /// <param name="errorCode">Parsed error code, null if none.</param>
    public static bool IsRetryable(AwsRetryMode mode, string service, HttpStatusCode statusCode, string? errorCode)
    {
        var status = (int)statusCode;
        if (mode == AwsRetryMode.Standard)
        {
            return StandardTransientStatuses.Contains(status)
                || (errorCode is not null && (StandardThrottlingCodes.Contains(errorCode) || StandardTransientCodes.Contains(errorCode)))
                || (service == "sts" && errorCode == "IDPCommunicationError");
        }

        return Legacy.Value.Matches(service, status, errorCode);
    }

    /// <summary>The legacy rules: (status, code) pairs; a null part matches anything.</summary>
    private sealed record LegacyPolicy(IReadOnlyList<(string? Service, int? Status, string? Code)> Rules)
    {
        public bool Matches(string service, int status, string? code) =>
            Rules.Any(r => (r.Service is null || r.Service == service)
                && (r.Status is null || r.Status == status)
                && (r.Code is null || r.Code == code)
                && (r.Status is not null || r.Code is not null));

        public IEnumerable<string> Codes(string? service) =>
            Rules.Where(r => r.Code is not null && (r.Service is null || r.Service == service)).Select(r => r.Code!);
    }

    private static LegacyPolicy LoadLegacy()
    {
        var root = ServiceModel.LoadResource("retry.json")?.AsObject()
            ?? throw new InvalidOperationException("Embedded resource D2.Operations.ServiceModels.retry.json is missing.");
        var definitions = root["definitions"]!.AsObject();
        var rules = new List<(string?, int?, string?)>();
        foreach (var (service, config) in root["retry"]!.AsObject())
        {
            var policies = config?["policies"] ?? config?["__default__"]?["policies"];
            if (policies is not JsonObject policyObject)
            {
                continue;
            }

            foreach (var (_, policy) in policyObject)
            {
                var resolved = policy?["$ref"] is { } reference ? definitions[(string)reference!] : policy;
                // Connection errors (socket_errors) are retried by the transport itself, not matched on answers.
                if (resolved?["applies_when"]?["response"] is JsonObject response)
                {
                    rules.Add((service == "__default__" ? null : service, (int?)response["http_status_code"], (string?)response["service_error_code"]));
                }
            }
        }

        return new LegacyPolicy(rules);
    }
}
