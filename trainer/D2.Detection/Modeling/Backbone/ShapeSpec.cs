using D2.Detection.Config;

namespace D2.Detection.Modeling.Backbone;

/// <summary>
/// Detectron2's ShapeSpec: what a module's input or output looks like. Feature maps give channels and stride; pooled ROI
/// features (the input of box and mask heads) give channels, height and width. Unknown parts are 0.
/// </summary>
public sealed record ShapeSpec(long Channels, long Stride = 0, long Height = 0, long Width = 0)
{
    /// <summary>The shapes of <paramref name="names"/> among a backbone's outputs, in that order.</summary>
    /// <param name="key">the config key that lists the names (for the error)</param>
    /// <exception cref="ConfigException">a name the backbone does not output</exception>
    public static List<ShapeSpec> Select(IReadOnlyDictionary<string, ShapeSpec> shapes, IReadOnlyList<string> names, string key)
    {
        ArgumentNullException.ThrowIfNull(shapes);
        ArgumentNullException.ThrowIfNull(names);
        return names.Select(n => shapes.TryGetValue(n, out var shape)
            ? shape
            : throw new ConfigException($"{key} names '{n}', which the backbone does not output ({string.Join(", ", shapes.Keys)}).") { Key = key }).ToList();
    }
}
