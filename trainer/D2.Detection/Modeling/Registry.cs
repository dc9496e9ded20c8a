using System.Collections;
using D2.Detection.Config;

namespace D2.Detection.Modeling;

/// <summary>
/// Detectron2's Registry: the factories of one extension point, each under the name a config key holds (e.g.
/// <c>MODEL.ROI_HEADS.NAME: StandardROIHeads</c>). Registration happens at start-up, before models are built; lookups
/// are then read-only, so the registry takes no lock.
/// </summary>
public sealed class Registry<TFactory>(string configKey) : IEnumerable<KeyValuePair<string, TFactory>>
    where TFactory : Delegate
{
    private readonly Dictionary<string, TFactory> _factories = new(StringComparer.Ordinal);

    /// <summary>The config key whose value names a factory here (for error messages).</summary>
    public string ConfigKey { get; } = configKey;

    /// <summary>The registered names, in registration order.</summary>
    public IReadOnlyCollection<string> Names => _factories.Keys;

    /// <summary>The factory registered as <paramref name="name"/>.</summary>
    /// <exception cref="ConfigException">nothing is registered under that name; the message names the key, the value and the registered names</exception>
    public TFactory this[string name] => Get(name);

    /// <summary>Adds a factory; as in Detectron2, a name can be registered once (a second one is an error, not an override).</summary>
    public void Register(string name, TFactory factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (!_factories.TryAdd(name, factory))
            throw new ArgumentException($"{ConfigKey} '{name}' is already registered.", nameof(name));
    }

    /// <summary>Collection-initializer form of <see cref="Register"/>.</summary>
    public void Add(string name, TFactory factory) => Register(name, factory);

    public bool Contains(string name) => _factories.ContainsKey(name);

    public TFactory Get(string name) => _factories.TryGetValue(name, out var factory)
        ? factory
        : throw new ConfigException($"{ConfigKey} '{name}' is not registered; registered: {string.Join(", ", _factories.Keys)}.") { Key = ConfigKey };

    public IEnumerator<KeyValuePair<string, TFactory>> GetEnumerator() => _factories.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
