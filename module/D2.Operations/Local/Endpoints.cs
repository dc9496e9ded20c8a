using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>
/// CreateEndpoint, UpdateEndpoint, DescribeEndpoint, DeleteEndpoint and ListEndpoints over local serving processes,
/// and the choice of the process an invocation goes to.
/// </summary>
internal sealed class Endpoints
{
    private readonly LocalContext _context;
    private readonly ResourceTable _models;
    private readonly ResourceTable _configs;
    private readonly HttpClient _http;
    private readonly Dictionary<string, Endpoint> _endpoints = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    public Endpoints(LocalContext context, ResourceTable models, ResourceTable configs, HttpClient http)
    {
        _context = context;
        _models = models;
        _configs = configs;
        _http = http;
        foreach (var record in context.Store.LoadAll(Endpoint.Kind))
        {
            if (Endpoint.Load(context.Store, record) is { } endpoint)
                _endpoints[endpoint.Name] = endpoint;
        }
    }

    public JsonObject Create(JsonObject request)
    {
        var name = (string)request["EndpointName"]!;
        var configName = (string)request["EndpointConfigName"]!;
        var config = CheckedConfig(configName);
        var arn = _context.Arns.Endpoint(name);
        var now = EpochTime.Now();
        var endpoint = new Endpoint(_context.Store, new JsonObject
        {
            ["EndpointName"] = name,
            ["EndpointArn"] = arn,
            ["EndpointConfigName"] = configName,
            ["EndpointStatus"] = "Creating",
            ["CreationTime"] = now,
            ["LastModifiedTime"] = now.DeepClone(),
        }, request["Tags"]?.DeepClone() as JsonArray ?? []);
        lock (_gate)
        {
            if (_endpoints.ContainsKey(name))
                throw LocalApiException.Validation($"Cannot create already existing endpoint \"{arn}\".");
            lock (endpoint.Gate)
                endpoint.Save();
            _endpoints[name] = endpoint;
        }
        _context.Log($"endpoint {name}: Creating with {configName}");
        _ = Task.Run(() => DeployAsync(endpoint, configName, config, isUpdate: false));
        return new JsonObject { ["EndpointArn"] = arn };
    }

    public JsonObject Update(JsonObject request)
    {
        var endpoint = Find((string)request["EndpointName"]!);
        var configName = (string)request["EndpointConfigName"]!;
        var config = CheckedConfig(configName);
        lock (endpoint.Gate)
        {
            var arn = (string)endpoint.Description["EndpointArn"]!;
            if (endpoint.Status == "Failed")
                throw LocalApiException.Validation($"Cannot update failed endpoint \"{arn}\".");
            if (endpoint.Status != "InService")
                throw LocalApiException.Validation($"Cannot update in-progress endpoint \"{arn}\".");
            endpoint.Description.Remove("FailureReason");
            endpoint.SetStatus("Updating");
        }
        _context.Log($"endpoint {endpoint.Name}: Updating to {configName}");
        _ = Task.Run(() => DeployAsync(endpoint, configName, config, isUpdate: true));
        return new JsonObject { ["EndpointArn"] = _context.Arns.Endpoint(endpoint.Name) };
    }

    public JsonObject Describe(JsonObject request)
    {
        var endpoint = Find((string)request["EndpointName"]!);
        lock (endpoint.Gate)
            return (JsonObject)endpoint.Description.DeepClone();
    }

    /// <summary>Deleting while the processes stop, then gone (the EndpointDeleted waiter's "Could not find").</summary>
    public JsonObject Delete(JsonObject request)
    {
        var endpoint = Find((string)request["EndpointName"]!);
        IReadOnlyList<VariantHost> hosts;
        lock (endpoint.Gate)
        {
            if (endpoint.Status == "Deleting")
                return [];
            endpoint.SetStatus("Deleting");
            hosts = endpoint.Hosts;
            endpoint.Hosts = [];
        }
        _context.Log($"endpoint {endpoint.Name}: Deleting");
        _ = Task.Run(async () =>
        {
            await StopHostsAsync(hosts).ConfigureAwait(false);
            lock (_gate)
            {
                _endpoints.Remove(endpoint.Name);
                _context.Store.Delete(Endpoint.Kind, endpoint.Name);
            }
            _context.Log($"endpoint {endpoint.Name}: deleted");
        });
        return [];
    }

    public JsonObject List(JsonObject request)
    {
        List<Endpoint> all;
        lock (_gate)
            all = [.. _endpoints.Values];
        var summaries = all.Select(e =>
        {
            lock (e.Gate)
                return e.Summary();
        });
        var (page, next) = ListQuery.Apply(summaries, request, "EndpointName", "EndpointStatus", defaultDescending: true);
        var response = new JsonObject { ["Endpoints"] = page };
        if (next is not null)
            response["NextToken"] = next;
        return response;
    }

    public bool TryAddTags(string arn, JsonArray tags)
    {
        lock (_gate)
        {
            var endpoint = _endpoints.Values.FirstOrDefault(e => string.Equals(_context.Arns.Endpoint(e.Name), arn, StringComparison.OrdinalIgnoreCase));
            if (endpoint is null)
                return false;
            lock (endpoint.Gate)
            {
                TagList.Merge(endpoint.Tags, tags);
                endpoint.Save();
            }
            return true;
        }
    }

    /// <summary>The process an invocation goes to: the TargetVariant's, or one picked by variant weight. Null
    /// (with the endpoint's status) when the endpoint has no live process; not-found is a runtime ValidationError.</summary>
    public (VariantHost? Host, string Status) PickHost(string name, string? targetVariant)
    {
        Endpoint? endpoint;
        lock (_gate)
            _endpoints.TryGetValue(name, out endpoint);
        if (endpoint is null)
            throw new LocalApiException("ValidationError", $"Endpoint {name} of account {_context.Arns.AccountId} not found.");
        lock (endpoint.Gate)
        {
            var hosts = endpoint.Hosts;
            if (endpoint.Status is not ("InService" or "Updating") || hosts.Count == 0)
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

    /// <summary>After a restart: end processes the previous server left, then redeploy live endpoints (Creating stays
    /// Creating, the others show SystemUpdating until healthy) or, when restarting is off, mark them Failed.</summary>
    public void Resume()
    {
        List<Endpoint> all;
        lock (_gate)
            all = [.. _endpoints.Values];
        foreach (var endpoint in all)
        {
            foreach (var (pid, start) in endpoint.OrphanProcesses)
                PosixSignals.TerminateOrphan(pid, start);
            lock (endpoint.Gate)
            {
                switch (endpoint.Status)
                {
                    case "Deleting":
                        lock (_gate)
                        {
                            _endpoints.Remove(endpoint.Name);
                            _context.Store.Delete(Endpoint.Kind, endpoint.Name);
                        }
                        continue;
                    case "Failed" or "OutOfService":
                        endpoint.Save();
                        continue;
                }
                if (!_context.Options.RestartEndpointsOnStartup)
                {
                    endpoint.Description["FailureReason"] = "local SageMaker restarted; the endpoint's serving processes are gone";
                    endpoint.SetStatus("Failed");
                    continue;
                }
                endpoint.SetStatus(endpoint.Status == "Creating" ? "Creating" : "SystemUpdating");
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
        List<Endpoint> all;
        lock (_gate)
            all = [.. _endpoints.Values];
        var hosts = new List<VariantHost>();
        foreach (var endpoint in all)
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
                var model = _models.Get((string)variant["ModelName"]!);
                started.Add(await VariantHost.StartAsync(_context, _http, endpoint.Name, deployment, variant, model, _context.Shutdown.Token).ConfigureAwait(false));
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
            if (endpoint.Status is "Deleting" || _context.Shutdown.IsCancellationRequested)
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
                endpoint.SetStatus("InService");
                _context.Log($"endpoint {endpoint.Name}: InService ({configName})");
            }
        }
        await StopHostsAsync(previous).ConfigureAwait(false);
    }

    private void Fail(Endpoint endpoint, string reason)
    {
        lock (endpoint.Gate)
        {
            if (endpoint.Status == "Deleting")
                return;
            endpoint.Description["FailureReason"] = reason.Length <= 1024 ? reason : reason[..1024];
            endpoint.SetStatus("Failed");
        }
        _context.Log($"endpoint {endpoint.Name}: Failed - {reason}");
    }

    /// <summary>A failed update leaves the old configuration serving, InService, with the reason recorded.</summary>
    private void RollBack(Endpoint endpoint, string reason)
    {
        lock (endpoint.Gate)
        {
            if (endpoint.Status == "Deleting")
                return;
            var message = "Update failed; the endpoint was rolled back to its previous configuration. " + reason;
            endpoint.Description["FailureReason"] = message.Length <= 1024 ? message : message[..1024];
            endpoint.SetStatus("InService");
        }
        _context.Log($"endpoint {endpoint.Name}: update failed, rolled back - {reason}");
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

    private static double Weight(Endpoint endpoint, string variantName) =>
        (endpoint.Description["ProductionVariants"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(v => (string?)v["VariantName"] == variantName)?["CurrentWeight"] is JsonValue w ? Math.Max(0, (double)w) : 1.0;

    /// <summary>The endpoint configuration, with every variant's model present (AWS checks both at create/update).</summary>
    private JsonObject CheckedConfig(string configName)
    {
        var config = _configs.Get(configName);
        foreach (var variant in config["ProductionVariants"]!.AsArray().OfType<JsonObject>())
            _models.Get((string)variant["ModelName"]!);
        return config;
    }

    private Endpoint Find(string name)
    {
        lock (_gate)
        {
            return _endpoints.TryGetValue(name, out var endpoint)
                ? endpoint
                : throw LocalApiException.Validation($"Could not find endpoint \"{_context.Arns.Endpoint(name)}\".");
        }
    }

    private static async Task StopHostsAsync(IEnumerable<VariantHost> hosts) =>
        await Task.WhenAll(hosts.Select(h => h.DisposeAsync().AsTask())).ConfigureAwait(false);
}
