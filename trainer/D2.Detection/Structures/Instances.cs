using System.Collections;
using static TorchSharp.torch;

namespace D2.Detection.Structures;

/// <summary>
/// Detectron2's <c>Instances</c>: an image size plus named per-instance fields of equal length (gt_boxes, pred_masks,
/// scores, ...). A field is a <see cref="Tensor"/> (instances along dim 0), an <see cref="IInstanceField"/> (Boxes,
/// BitMasks, PolygonMasks) or a list (<see cref="IList"/>, e.g. <c>List&lt;string&gt;</c> or an array).
/// </summary>
public sealed class Instances : IDisposable
{
    readonly Dictionary<string, object> _fields = new(StringComparer.Ordinal);

    /// <param name="imageSize">(height, width) of the image the instances live in</param>
    public Instances((int Height, int Width) imageSize)
    {
        if (imageSize.Height < 0 || imageSize.Width < 0)
            throw new ArgumentOutOfRangeException(nameof(imageSize), imageSize, "Image size must not be negative.");
        ImageSize = imageSize;
    }

    public (int Height, int Width) ImageSize { get; }

    /// <summary>The names of the fields present.</summary>
    public IReadOnlyCollection<string> FieldNames => _fields.Keys;

    /// <summary>The number of instances: the length of any field.</summary>
    /// <exception cref="InvalidOperationException">there are no fields (Detectron2 raises too)</exception>
    public long Length => _fields.Count == 0
        ? throw new InvalidOperationException("Instances without fields have no length; set a field first.")
        : LengthOf(_fields.First().Value, _fields.First().Key);

    /// <summary>Sets a field; its length must equal that of the fields already present.</summary>
    public void Set(string name, object value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        var length = LengthOf(value, name);
        // As in Detectron2 the check runs against len(self), so even replacing a field cannot change the length.
        if (_fields.Count > 0 && Length != length)
            throw new ArgumentException(
                $"Field '{name}' has {length} entries but these Instances have {Length} (field '{_fields.First().Key}').", nameof(value));
        _fields[name] = value;
    }

    public bool Has(string name) => _fields.ContainsKey(name);

    public object Get(string name) =>
        _fields.TryGetValue(name, out var value)
            ? value
            : throw new KeyNotFoundException($"Instances have no field '{name}'; fields: [{string.Join(", ", _fields.Keys)}].");

    /// <summary>The field as <typeparamref name="T"/>, with a clear message when it holds something else.</summary>
    public T Get<T>(string name) =>
        Get(name) is T typed
            ? typed
            : throw new InvalidCastException($"Field '{name}' is a {Get(name).GetType().Name}, not a {typeof(T).Name}.");

    public bool Remove(string name) => _fields.Remove(name);

    /// <summary>The instances chosen by a (Length,) bool mask or an index vector (Detectron2 <c>instances[item]</c>).</summary>
    public Instances this[Tensor selection] => Index(selection);

    /// <inheritdoc cref="this[Tensor]"/>
    public Instances Index(Tensor selection)
    {
        using var scope = NewDisposeScope();
        var indices = Selection.ToIndices(selection, Length, "Instances");
        var result = new Instances(ImageSize);
        long[]? cpuIndices = null;
        foreach (var (name, value) in _fields)
        {
            result._fields[name] = value switch
            {
                Tensor t => t.index_select(0, indices.to(t.device)),
                IInstanceField f => f.Select(indices),
                IList list => SelectList(list, cpuIndices ??= Selection.ToIndexArray(indices, list.Count, $"field '{name}'")),
                _ => throw new InvalidOperationException($"Field '{name}' of type {value.GetType().Name} cannot be indexed."),
            };
        }
        result.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>Instance <paramref name="index"/> alone (length 1); negative counts from the end, as Detectron2's int index.</summary>
    public Instances Index(long index)
    {
        var length = Length;
        if (index < -length || index >= length)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"Instance index {index} is out of range for {length} instances.");
        using var scope = NewDisposeScope();
        var result = Index(tensor(new[] { index < 0 ? index + length : index }));
        result.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>Concatenates per-image instances of one image size, field by field (Detectron2 <c>Instances.cat</c>).</summary>
    public static Instances Cat(IReadOnlyList<Instances> instanceLists)
    {
        ArgumentNullException.ThrowIfNull(instanceLists);
        if (instanceLists.Count == 0) throw new ArgumentException("Cat needs at least one Instances.", nameof(instanceLists));
        // Detectron2 returns the single input itself.
        if (instanceLists.Count == 1) return instanceLists[0];
        var first = instanceLists[0];
        for (var i = 1; i < instanceLists.Count; i++)
        {
            if (instanceLists[i].ImageSize != first.ImageSize)
                throw new ArgumentException(
                    $"Instances {i} has image size {instanceLists[i].ImageSize} but Instances 0 has {first.ImageSize}.", nameof(instanceLists));
        }
        using var scope = NewDisposeScope();
        var result = new Instances(first.ImageSize);
        foreach (var (name, v0) in first._fields)
        {
            var values = instanceLists.Select((inst, i) => inst._fields.TryGetValue(name, out var v)
                ? v
                : throw new ArgumentException($"Instances {i} lacks field '{name}' that Instances 0 has.", nameof(instanceLists))).ToList();
            result.Set(name, v0 switch
            {
                Tensor => cat(values.Select((v, i) => v as Tensor ?? throw MixedTypes(name, i, v, v0)).ToList(), 0),
                IInstanceField f => f.Concat(values.Skip(1).Select((v, i) => v as IInstanceField ?? throw MixedTypes(name, i + 1, v, v0)).ToList()),
                IList => ConcatLists(name, values),
                _ => throw new InvalidOperationException($"Field '{name}' of type {v0.GetType().Name} cannot be concatenated."),
            });
        }
        result.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>A copy with every tensor-backed field moved to <paramref name="device"/>; lists are shared.</summary>
    public Instances To(Device device)
    {
        using var scope = NewDisposeScope();
        var result = new Instances(ImageSize);
        foreach (var (name, value) in _fields)
        {
            result._fields[name] = value switch
            {
                Tensor t => t.to(device),
                IInstanceField f => f.To(device),
                _ => value,
            };
        }
        result.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>Moves every tensor held by the fields out of the current dispose scope; returns this for chaining.</summary>
    public Instances MoveToOuterDisposeScope()
    {
        foreach (var value in _fields.Values)
        {
            if (value is Tensor t) t.MoveToOuterDisposeScope();
            else if (value is IInstanceField f) f.MoveToOuterDisposeScope();
        }
        return this;
    }

    /// <summary>Disposes the tensors and disposable structures held by the fields.</summary>
    public void Dispose()
    {
        foreach (var value in _fields.Values) (value as IDisposable)?.Dispose();
        _fields.Clear();
    }

    public override string ToString() =>
        $"Instances(num_instances={(_fields.Count == 0 ? "?" : Length.ToString())}, image_height={ImageSize.Height}, " +
        $"image_width={ImageSize.Width}, fields=[{string.Join(", ", _fields.Keys)}])";

    static long LengthOf(object value, string name) => value switch
    {
        Tensor t when t.dim() == 0 => throw new ArgumentException($"Field '{name}' is a 0-d tensor; a field needs one entry per instance."),
        Tensor t => t.shape[0],
        IInstanceField f => f.Length,
        IList list => list.Count,
        _ => throw new ArgumentException(
            $"Field '{name}' is a {value.GetType().Name}; use a Tensor, an IInstanceField (Boxes, BitMasks, PolygonMasks) or a list."),
    };

    static IList SelectList(IList list, long[] indices)
    {
        if (list is Array array)
        {
            var picked = Array.CreateInstance(array.GetType().GetElementType()!, indices.Length);
            for (var i = 0; i < indices.Length; i++) picked.SetValue(array.GetValue(indices[i]), i);
            return picked;
        }
        var result = NewListLike(list);
        foreach (var i in indices) result.Add(list[(int)i]);
        return result;
    }

    static IList ConcatLists(string name, List<object> values)
    {
        var lists = values.Select((v, i) => v as IList ?? throw MixedTypes(name, i, v, values[0])).ToList();
        if (lists[0] is Array first)
        {
            var joined = Array.CreateInstance(first.GetType().GetElementType()!, lists.Sum(l => l.Count));
            var offset = 0;
            foreach (var l in lists)
            {
                foreach (var item in l) joined.SetValue(item, offset++);
            }
            return joined;
        }
        var result = NewListLike(lists[0]);
        foreach (var l in lists)
        {
            foreach (var item in l) result.Add(item);
        }
        return result;
    }

    static IList NewListLike(IList list) =>
        list.GetType() is { IsGenericType: true } type && type.GetGenericTypeDefinition() == typeof(List<>)
            ? (IList)Activator.CreateInstance(type)!
            : new List<object?>();

    static ArgumentException MixedTypes(string name, int index, object value, object first) =>
        new($"Field '{name}' of Instances {index} is a {value.GetType().Name} but Instances 0 holds a {first.GetType().Name}.");
}
