using System.Text.Json.Nodes;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Local;

/// <summary>The serving process an invocation goes to: the TargetVariant's, or one picked by the variants' current weights.</summary>
internal sealed class VariantRouter(LocalContext context, EndpointTable endpoints)
{
    /// <summary>Null (with the endpoint's status) when the endpoint has no live process; not-found is a runtime ValidationError.</summary>
    public (VariantHost? Host, EndpointStatus Status) PickHost(string name, string? targetVariant)
    {
        var endpoint = endpoints.TryGet(name)
            ?? throw new LocalApiException("ValidationError", $"Endpoint {name} of account {context.Arns.AccountId} not found.");
        lock (endpoint.Gate)
        {
            var hosts = endpoint.Hosts;
            if (endpoint.Status is not (EndpointStatus.InService or EndpointStatus.Updating) || hosts.Count == 0)
                return (null, endpoint.Status);
            if (targetVariant is not null)
            {
                var target = hosts.FirstOrDefault(h => h.VariantName == targetVariant)
                    ?? throw new LocalApiException("ValidationError", $"Variant {targetVariant} not found for endpoint {name}.");
                return (target, endpoint.Status);
            }
            var weights = hosts.Select(h => Weight(endpoint, h.VariantName)).ToList();
            var total = weights.Sum();
            var pick = Random.Shared.NextDouble() * total;
            for (var i = 0; i < hosts.Count; i++)
            {
                pick -= weights[i];
                if (pick < 0)
                    return (hosts[i], endpoint.Status);
            }
            return (hosts[^1], endpoint.Status);
        }
    }

    private static double Weight(Endpoint endpoint, string variantName) =>
        (endpoint.Description["ProductionVariants"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(v => (string?)v["VariantName"] == variantName)?["CurrentWeight"] is JsonValue w ? Math.Max(0, (double)w) : 1.0;
}
