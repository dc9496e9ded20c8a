using System.Text.Json.Nodes;

namespace D2.Operations.Local;

/// <summary>
/// The endpoints the server knows (loaded from the state store at start), by case-insensitive name. The table's lock
/// guards membership only; an endpoint's own state is guarded by <see cref="Endpoint.Gate"/>.
/// </summary>
internal sealed class EndpointTable
{
    private readonly LocalContext _context;
    private readonly Dictionary<string, Endpoint> _endpoints = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();

    public EndpointTable(LocalContext context)
    {
        _context = context;
        foreach (var endpoint in context.Store.LoadAll(Endpoint.Kind, Endpoint.Load))
            _endpoints[endpoint.Name] = endpoint;
    }

    /// <summary>A copy of the membership, to walk without holding the table's lock.</summary>
    public List<Endpoint> Snapshot()
    {
        lock (_gate)
            return [.. _endpoints.Values];
    }

    public Endpoint? TryGet(string name)
    {
        lock (_gate)
            return _endpoints.GetValueOrDefault(name);
    }

    /// <summary>The endpoint, or SageMaker's ValidationException for a missing one (the EndpointDeleted waiter's "Could not find").</summary>
    public Endpoint Find(string name) =>
        TryGet(name) ?? throw LocalApiException.Validation($"Could not find endpoint \"{_context.Arns.Endpoint(name)}\".");

    /// <summary>AddTags on an endpoint ARN; false when no endpoint has it. Under the table's lock, so a delete
    /// finishing meanwhile cannot be undone by the save.</summary>
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

    /// <summary>Adds and persists a new endpoint; a name already taken is SageMaker's ValidationException.</summary>
    public void Add(Endpoint endpoint)
    {
        lock (_gate)
        {
            if (_endpoints.ContainsKey(endpoint.Name))
                throw LocalApiException.Validation($"Cannot create already existing endpoint \"{_context.Arns.Endpoint(endpoint.Name)}\".");
            lock (endpoint.Gate)
                endpoint.Save();
            _endpoints[endpoint.Name] = endpoint;
        }
    }

    /// <summary>Forgets the endpoint and deletes its record.</summary>
    public void Remove(Endpoint endpoint)
    {
        lock (_gate)
        {
            _endpoints.Remove(endpoint.Name);
            _context.Store.Delete(Endpoint.Kind, endpoint.Name);
        }
    }
}
