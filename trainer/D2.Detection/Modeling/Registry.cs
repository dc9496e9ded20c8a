using System.Collections;
using D2.Detection.Config;

namespace D2.Detection.Modeling;

/// <summary>Detectron2's Registry: factories for one extension point, looked up by the name its config key holds.</summary>
public sealed class Registry<TFactory>(string configKey) : IEnumerable<KeyValuePair<string, TFactory>>
{
    private readonly Dictionary<string, TFactory> _factories = new(StringComparer.Ordinal);

    /// <summary>The config key whose value names a factory here (for error messages).</summary>
    public string ConfigKey { get; } = configKey;

    public IReadOnlyCollection<string> Names => _factories.Keys;

    public TFactory this[string name]
    {
        get => _factories.TryGetValue(name, out var factory)
            ? factory
            : throw new ConfigException($"{ConfigKey} '{name}' is not registered; available: {string.Join(", ", _factories.Keys)}.");
        set => _factories[name] = value;
    }

    public IEnumerator<KeyValuePair<string, TFactory>> GetEnumerator() => _factories.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
