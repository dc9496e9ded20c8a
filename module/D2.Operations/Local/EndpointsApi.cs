using System.Text.Json.Nodes;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Local;

/// <summary>
/// CreateEndpoint, UpdateEndpoint, DescribeEndpoint, DeleteEndpoint and ListEndpoints: each checks the request against
/// the endpoint's state, records the new status and hands the work to <see cref="EndpointLifecycle"/>.
/// </summary>
internal sealed class EndpointsApi(LocalContext context, EndpointTable endpoints, EndpointLifecycle lifecycle)
{
    public JsonObject Create(JsonObject request)
    {
        var name = (string)request["EndpointName"]!;
        var configName = (string)request["EndpointConfigName"]!;
        var config = lifecycle.CheckedConfig(configName);
        var arn = context.Arns.Endpoint(name);
        var now = EpochTime.Now();
        var endpoint = new Endpoint(context.Store, new JsonObject
        {
            ["EndpointName"] = name,
            ["EndpointArn"] = arn,
            ["EndpointConfigName"] = configName,
            ["EndpointStatus"] = LocalStatus.Wire(EndpointStatus.Creating),
            ["CreationTime"] = now,
            ["LastModifiedTime"] = now.DeepClone(),
        }, request["Tags"]?.DeepClone() as JsonArray ?? []);
        endpoints.Add(endpoint);
        context.Log($"endpoint {name}: Creating with {configName}");
        lifecycle.StartDeployment(endpoint, configName, config, isUpdate: false);
        return new JsonObject { ["EndpointArn"] = arn };
    }

    public JsonObject Update(JsonObject request)
    {
        var endpoint = endpoints.Find((string)request["EndpointName"]!);
        var configName = (string)request["EndpointConfigName"]!;
        var config = lifecycle.CheckedConfig(configName);
        lock (endpoint.Gate)
        {
            var arn = (string)endpoint.Description["EndpointArn"]!;
            if (endpoint.Status == EndpointStatus.Failed)
                throw LocalApiException.Validation($"Cannot update failed endpoint \"{arn}\".");
            if (endpoint.Status != EndpointStatus.InService)
                throw LocalApiException.Validation($"Cannot update in-progress endpoint \"{arn}\".");
            endpoint.Description.Remove("FailureReason");
            endpoint.SetStatus(EndpointStatus.Updating);
        }
        context.Log($"endpoint {endpoint.Name}: Updating to {configName}");
        lifecycle.StartDeployment(endpoint, configName, config, isUpdate: true);
        return new JsonObject { ["EndpointArn"] = context.Arns.Endpoint(endpoint.Name) };
    }

    public JsonObject Describe(JsonObject request)
    {
        var endpoint = endpoints.Find((string)request["EndpointName"]!);
        lock (endpoint.Gate)
            return (JsonObject)endpoint.Description.DeepClone();
    }

    /// <summary>Deleting while the processes stop, then gone (the EndpointDeleted waiter's "Could not find").</summary>
    public JsonObject Delete(JsonObject request)
    {
        var endpoint = endpoints.Find((string)request["EndpointName"]!);
        IReadOnlyList<VariantHost> hosts;
        lock (endpoint.Gate)
        {
            if (endpoint.Status == EndpointStatus.Deleting)
                return [];
            endpoint.SetStatus(EndpointStatus.Deleting);
            hosts = endpoint.Hosts;
            endpoint.Hosts = [];
        }
        context.Log($"endpoint {endpoint.Name}: Deleting");
        lifecycle.StartRemoval(endpoint, hosts);
        return [];
    }

    public JsonObject List(JsonObject request)
    {
        var summaries = endpoints.Snapshot().Select(e =>
        {
            lock (e.Gate)
                return e.Summary();
        });
        return ListQuery.Response("Endpoints", summaries, request, "EndpointName", "EndpointStatus", defaultDescending: true);
    }
}
