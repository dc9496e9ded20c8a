using System.Text.Json.Nodes;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Local;

/// <summary>
/// What happens to an endpoint after the API call returns: its variants' serving processes are started and
/// health-checked (<see cref="VariantHost.StartAsync"/>), then swapped in (InService); a failed create marks it Failed,
/// a failed update rolls back to the configuration still serving; a delete stops the processes and forgets it; a
/// restart redeploys what was live.
/// </summary>
internal sealed class EndpointLifecycle(LocalContext context, EndpointTable endpoints, ResourceTable models, ResourceTable configs, HttpClient http)
{
    /// <summary>The endpoint configuration, with every variant's model present (AWS checks both at create/update).</summary>
    public JsonObject CheckedConfig(string configName)
    {
        var config = configs.Get(configName);
        foreach (var variant in config["ProductionVariants"]!.AsArray().OfType<JsonObject>())
            models.Get((string)variant["ModelName"]!);
        return config;
    }

    /// <summary>Deploys <paramref name="config"/> in the background; the caller has set Creating or Updating.</summary>
    public void StartDeployment(Endpoint endpoint, string configName, JsonObject config, bool isUpdate) =>
        _ = Task.Run(() => DeployAsync(endpoint, configName, config, isUpdate));

    /// <summary>Stops <paramref name="hosts"/> in the background, then forgets the endpoint (the caller has set Deleting).</summary>
    public void StartRemoval(Endpoint endpoint, IReadOnlyList<VariantHost> hosts) =>
        _ = Task.Run(async () =>
        {
            await StopHostsAsync(hosts).ConfigureAwait(false);
            endpoints.Remove(endpoint);
            context.Log($"endpoint {endpoint.Name}: deleted");
        });

    /// <summary>After a restart: end processes the previous server left, then redeploy live endpoints (Creating stays
    /// Creating, the others show SystemUpdating until healthy) or, when restarting is off, mark them Failed.</summary>
    public void Resume()
    {
        foreach (var endpoint in endpoints.Snapshot())
        {
            foreach (var (pid, start) in endpoint.OrphanProcesses)
                PosixSignals.TerminateOrphan(pid, start);
            lock (endpoint.Gate)
            {
                switch (endpoint.Status)
                {
                    case EndpointStatus.Deleting:
                        endpoints.Remove(endpoint);
                        continue;
                    case EndpointStatus.Failed or EndpointStatus.OutOfService:
                        endpoint.Save();
                        continue;
                }
                if (!context.Options.RestartEndpointsOnStartup)
                {
                    endpoint.Description["FailureReason"] = "local SageMaker restarted; the endpoint's serving processes are gone";
                    endpoint.SetStatus(EndpointStatus.Failed);
                    continue;
                }
                endpoint.SetStatus(endpoint.Status == EndpointStatus.Creating ? EndpointStatus.Creating : EndpointStatus.SystemUpdating);
            }
            var configName = (string)endpoint.Description["EndpointConfigName"]!;
            _ = Task.Run(async () =>
            {
                JsonObject config;
                try
                {
                    config = CheckedConfig(configName);
                }
                catch (LocalApiException e)
                {
                    Fail(endpoint, e.Message);
                    return;
                }
                await DeployAsync(endpoint, configName, config, isUpdate: false).ConfigureAwait(false);
            });
        }
    }

    /// <summary>Stops every serving process (server shutdown); records stay as they are so a restart redeploys.</summary>
    public async Task StopAllAsync()
    {
        var hosts = new List<VariantHost>();
        foreach (var endpoint in endpoints.Snapshot())
        {
            lock (endpoint.Gate)
            {
                hosts.AddRange(endpoint.Hosts);
                endpoint.Hosts = [];
                endpoint.Save();
            }
        }
        await StopHostsAsync(hosts).ConfigureAwait(false);
    }

    private async Task DeployAsync(Endpoint endpoint, string configName, JsonObject config, bool isUpdate)
    {
        var deployment = Guid.NewGuid().ToString("N")[..8];
        var started = new List<VariantHost>();
        try
        {
            foreach (var variant in config["ProductionVariants"]!.AsArray().OfType<JsonObject>())
            {
                var model = models.Get((string)variant["ModelName"]!);
                started.Add(await VariantHost.StartAsync(context, http, endpoint.Name, deployment, variant, model, context.Shutdown.Token).ConfigureAwait(false));
            }
        }
        catch (Exception e) when (e is VariantHost.StartFailure or LocalApiException or OperationCanceledException)
        {
            await StopHostsAsync(started).ConfigureAwait(false);
            if (e is OperationCanceledException)
                return;
            if (isUpdate)
                RollBack(endpoint, e.Message);
            else
                Fail(endpoint, e.Message);
            return;
        }

        IReadOnlyList<VariantHost> previous;
        lock (endpoint.Gate)
        {
            if (endpoint.Status is EndpointStatus.Deleting || context.Shutdown.IsCancellationRequested)
            {
                previous = started;
            }
            else
            {
                previous = endpoint.Hosts;
                endpoint.Hosts = started;
                endpoint.Description["EndpointConfigName"] = configName;
                endpoint.Description["ProductionVariants"] = VariantSummaries(config, started);
                endpoint.Description.Remove("FailureReason");
                endpoint.SetStatus(EndpointStatus.InService);
                context.Log($"endpoint {endpoint.Name}: InService ({configName})");
            }
        }
        await StopHostsAsync(previous).ConfigureAwait(false);
    }

    private void Fail(Endpoint endpoint, string reason)
    {
        lock (endpoint.Gate)
        {
            if (endpoint.Status == EndpointStatus.Deleting)
                return;
            endpoint.Description["FailureReason"] = reason.Length <= 1024 ? reason : reason[..1024];
            endpoint.SetStatus(EndpointStatus.Failed);
        }
        context.Log($"endpoint {endpoint.Name}: Failed - {reason}");
    }

    /// <summary>A failed update leaves the old configuration serving, InService, with the reason recorded.</summary>
    private void RollBack(Endpoint endpoint, string reason)
    {
        lock (endpoint.Gate)
        {
            if (endpoint.Status == EndpointStatus.Deleting)
                return;
            var message = "Update failed; the endpoint was rolled back to its previous configuration. " + reason;
            endpoint.Description["FailureReason"] = message.Length <= 1024 ? message : message[..1024];
            endpoint.SetStatus(EndpointStatus.InService);
        }
        context.Log($"endpoint {endpoint.Name}: update failed, rolled back - {reason}");
    }

    private static JsonArray VariantSummaries(JsonObject config, IReadOnlyList<VariantHost> hosts)
    {
        var summaries = new JsonArray();
        var now = EpochTime.Now();
        foreach (var variant in config["ProductionVariants"]!.AsArray().OfType<JsonObject>())
        {
            var name = (string)variant["VariantName"]!;
            var host = hosts.First(h => h.VariantName == name);
            var weight = (double?)variant["InitialVariantWeight"] ?? 1.0;
            var count = (int?)variant["InitialInstanceCount"] ?? 1;
            summaries.Add(new JsonObject
            {
                ["VariantName"] = name,
                ["DeployedImages"] = new JsonArray(new JsonObject
                {
                    ["SpecifiedImage"] = host.Image,
                    ["ResolvedImage"] = host.Image,
                    ["ResolutionTime"] = now.DeepClone(),
                }),
                ["CurrentWeight"] = weight,
                ["DesiredWeight"] = weight,
                ["CurrentInstanceCount"] = count,
                ["DesiredInstanceCount"] = count,
            });
        }
        return summaries;
    }

    private static async Task StopHostsAsync(IEnumerable<VariantHost> hosts) =>
        await Task.WhenAll(hosts.Select(h => h.DisposeAsync().AsTask())).ConfigureAwait(false);
}
