using System.Collections;

namespace D2.Detection.Config;

/// <summary>
/// A list or tuple config value (Python <c>list</c> / <c>tuple</c>). Elements are <see cref="long"/>,
/// <see cref="double"/>, <see cref="bool"/>, <see cref="string"/>, <c>null</c> or nested sequences.
/// Immutable, compared by value.
/// </summary>
/// <remarks>
/// Only the top-level list/tuple distinction is kept: nested sequences are always lists, because that
/// is all a Detectron2 dump preserves (PyYAML writes tuples as lists and loading coerces only the
/// top level back to the key's kind).
/// </remarks>
public sealed class CfgSequence : IReadOnlyList<object?>, IEquatable<CfgSequence>
{
    private readonly object?[] _items;

    public CfgSequence(IEnumerable<object?> items, bool isTuple)
    {
        _items = items.Select(NormalizeElement).ToArray();
        IsTuple = isTuple;
    }

    /// <summary>True for a Python tuple (e.g. <c>INPUT.MIN_SIZE_TRAIN</c>), false for a list.</summary>
    public bool IsTuple { get; }

    public int Count => _items.Length;

    public object? this[int index] => _items[index];

    public static CfgSequence List(params object?[] items) => new(items, isTuple: false);

    public static CfgSequence Tuple(params object?[] items) => new(items, isTuple: true);

    /// <summary>The same elements as a tuple (<paramref name="isTuple"/>) or a list.</summary>
    public CfgSequence WithKind(bool isTuple) => isTuple == IsTuple ? this : new CfgSequence(_items, isTuple);

    public IEnumerator<object?> GetEnumerator() => ((IEnumerable<object?>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();

    public bool Equals(CfgSequence? other)
    {
        if (other is null || other.IsTuple != IsTuple || other._items.Length != _items.Length)
        {
            return false;
        }

        for (var i = 0; i < _items.Length; i++)
        {
            if (!ConfigValues.ValueEquals(_items[i], other._items[i]))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as CfgSequence);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(IsTuple);
        foreach (var item in _items)
        {
            hash.Add(item);
        }

        return hash.ToHashCode();
    }

    /// <summary>The value as Python prints it: <c>(800,)</c>, <c>[0.5, 1.0, 2.0]</c>.</summary>
    public override string ToString() => PythonRepr.Format(this);

    private static object? NormalizeElement(object? element) => element switch
    {
        null or long or double or bool or string => element,
        CfgSequence nested => nested.WithKind(isTuple: false),
        _ => throw new ArgumentException(
            $"a config list may hold only int, float, bool, str, None and lists, not {element.GetType().Name}"),
    };
}
