namespace D2.Detection.Config;

/// <summary>
/// A Detectron2 (yacs) config: a tree of upper-case keys whose leaves are typed as in Python (see
/// <see cref="ConfigValues"/>). Start from <see cref="DefaultConfig.Create"/>, merge a file and opts,
/// <see cref="Validate"/>, <see cref="Freeze"/>; read values with <see cref="Get{T}"/>.
/// </summary>
/// <example>
/// <code>
/// var cfg = DefaultConfig.Create();
/// cfg.MergeFromFile(ModelZoo.GetConfigFile("COCO-InstanceSegmentation/mask_rcnn_R_50_FPN_3x.yaml"));
/// cfg.MergeFromList(["SOLVER.BASE_LR", "0.00025", "DATASETS.TRAIN", "('balloon_train',)"]);
/// cfg.Validate();
/// cfg.Freeze();
/// int numClasses = cfg.Get&lt;int&gt;("MODEL.ROI_HEADS.NUM_CLASSES");
/// </code>
/// </example>
public sealed partial class CfgNode
{
    private readonly OrderedDictionary<string, object?> _entries = new(StringComparer.Ordinal);

    /// <summary>An empty root node.</summary>
    public CfgNode()
        : this(string.Empty)
    {
    }

    private CfgNode(string path) => Path = path;

    /// <summary>The full key of this node ("" for the root, "MODEL.RPN" for a group).</summary>
    public string Path { get; }

    /// <summary>The names of this node's direct children, in insertion order.</summary>
    public IEnumerable<string> Keys => _entries.Keys;

    public bool IsFrozen { get; private set; }

    /// <summary>A leaf value or a <see cref="CfgNode"/> group, by dotted key relative to this node.</summary>
    /// <exception cref="ConfigException">the key does not exist</exception>
    public object? this[string key] => Resolve(key, "looked up");

    public bool ContainsKey(string key) => TryResolve(key, out _);

    /// <summary>
    /// The value of <paramref name="key"/> as <typeparamref name="T"/>: bool, int, long, float, double, string,
    /// their nullable forms (None gives null), arrays or <see cref="IReadOnlyList{T}"/> of those (nested for
    /// e.g. <c>MODEL.ANCHOR_GENERATOR.SIZES</c>), <see cref="CfgSequence"/>, <see cref="CfgNode"/> or object.
    /// </summary>
    /// <exception cref="ConfigException">the key does not exist or its value does not convert</exception>
    public T Get<T>(string key) => CfgValueConverter.Convert<T>(this[key], FullKey(key));

    /// <summary>A group of keys, e.g. <c>GetNode("MODEL.RPN")</c>.</summary>
    public CfgNode GetNode(string key) => this[key] as CfgNode
        ?? throw new ConfigException($"Config key {FullKey(key)} is a value, not a group of keys.") { Key = FullKey(key) };

    /// <summary>
    /// Sets an existing key from code (no literal parsing), with the same type rule as a file or opts.
    /// .NET ints and floats become Python int/float, arrays and lists become lists.
    /// </summary>
    public void Set(string key, object? value)
    {
        var fullKey = FullKey(key);
        var (parent, leafKey) = ParentOf(key, "set");
        if (parent._entries[leafKey] is CfgNode)
        {
            throw GroupNotValue(fullKey, "set");
        }

        parent.ThrowIfFrozen(fullKey);
        var leaf = ConfigValues.FromClr(value, fullKey);
        parent._entries[leafKey] = ConfigValues.CheckAndCoerce(leaf, parent._entries[leafKey], fullKey, "set from code");
    }

    /// <summary>
    /// Adds a key that is not in Detectron2's defaults (an extension's own keys, like Detectron2's
    /// <c>add_*_config</c> functions); missing groups are created. The value fixes the key's type.
    /// </summary>
    public void AddKey(string key, object? defaultValue)
    {
        var fullKey = FullKey(key);
        ThrowIfFrozen(fullKey);
        if (ContainsKey(key))
        {
            throw new ConfigException($"Config key {fullKey} already exists.") { Key = fullKey };
        }

        var node = this;
        var parts = key.Split('.');
        foreach (var part in parts[..^1])
        {
            if (!node._entries.TryGetValue(part, out var child))
            {
                child = new CfgNode(Join(node.Path, part));
                node._entries[part] = child;
            }

            node = child as CfgNode ?? throw new ConfigException($"Config key {Join(node.Path, part)} is a value, not a group; cannot add {fullKey} under it.") { Key = fullKey };
        }

        node._entries[parts[^1]] = defaultValue is CfgNode group ? group.CloneAs(fullKey) : ConfigValues.FromClr(defaultValue, fullKey);
    }

    /// <summary>Makes this node and all its groups read-only (as Detectron2 does before training).</summary>
    public void Freeze() => SetFrozen(true);

    public void Defrost() => SetFrozen(false);

    /// <summary>A deep copy (leaves are immutable and shared); keeps the frozen state, as yacs' clone does.</summary>
    public CfgNode Clone() => CloneAs(Path);

    /// <summary>The YAML Detectron2's <c>cfg.dump()</c> writes; merging it into the defaults gives this config back.</summary>
    public string Dump() => YamlConfigWriter.Write(this);

    /// <summary>Checks the value types against Detectron2's defaults and that unsupported features keep their defaults.</summary>
    /// <exception cref="ConfigException">every problem found, one per line</exception>
    public void Validate() => ConfigValidator.Validate(this);

    /// <summary>Validates for <paramref name="purpose"/>: prediction ignores settings that only training reads.</summary>
    public void Validate(ConfigPurpose purpose) => ConfigValidator.Validate(this, purpose);

    /// <summary>Every leaf as (full key, value), depth first in key order of insertion.</summary>
    public IEnumerable<KeyValuePair<string, object?>> Leaves()
    {
        foreach (var (key, value) in _entries)
        {
            if (value is CfgNode child)
            {
                foreach (var leaf in child.Leaves())
                {
                    yield return leaf;
                }
            }
            else
            {
                yield return new(Join(Path, key), value);
            }
        }
    }

    /// <summary>The keys whose values differ (type included: 1 is not 1.0), or that only one side has.</summary>
    public IReadOnlyList<string> Differences(CfgNode other)
    {
        var mine = Leaves().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var theirs = other.Leaves().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var differences = new List<string>();
        foreach (var (key, value) in mine)
        {
            if (!theirs.TryGetValue(key, out var otherValue))
            {
                differences.Add($"{key}: only in this config");
            }
            else if (!ConfigValues.ValueEquals(value, otherValue))
            {
                differences.Add($"{key}: {PythonRepr.Format(value)} != {PythonRepr.Format(otherValue)}");
            }
        }

        differences.AddRange(theirs.Keys.Where(key => !mine.ContainsKey(key)).Select(key => $"{key}: only in the other config"));
        return differences;
    }

    public bool ContentEquals(CfgNode other) => Differences(other).Count == 0;

    public override string ToString() => Dump();

    /// <summary>A direct child (leaf or group) by its own name.</summary>
    internal object? GetLocal(string name) => _entries[name];

    /// <summary>Builds a tree from a YAML document as it is (no literal decoding): used for the defaults.</summary>
    internal static CfgNode FromMapping(YamlMapping mapping, string path = "")
    {
        var node = new CfgNode(path);
        foreach (var (key, entry) in mapping.Entries)
        {
            node._entries[key] = entry.Value is YamlMapping child ? FromMapping(child, Join(path, key)) : entry.Value;
        }

        return node;
    }

    private CfgNode CloneAs(string path)
    {
        var copy = new CfgNode(path) { IsFrozen = IsFrozen };
        foreach (var (key, value) in _entries)
        {
            copy._entries[key] = value is CfgNode child ? child.CloneAs(Join(path, key)) : value;
        }

        return copy;
    }

    private void SetFrozen(bool frozen)
    {
        IsFrozen = frozen;
        foreach (var child in _entries.Values.OfType<CfgNode>())
        {
            child.SetFrozen(frozen);
        }
    }

    private void ThrowIfFrozen(string fullKey)
    {
        if (IsFrozen)
        {
            throw new ConfigException($"Cannot change {fullKey}: the config is frozen (Defrost() it, or change a Clone()).") { Key = fullKey };
        }
    }

    private object? Resolve(string key, string operation)
    {
        var (parent, leafKey) = ParentOf(key, operation);
        return parent._entries[leafKey];
    }

    private bool TryResolve(string key, out object? value)
    {
        object? current = this;
        foreach (var part in key.Split('.'))
        {
            if (current is not CfgNode node || !node._entries.TryGetValue(part, out current))
            {
                value = null;
                return false;
            }
        }

        value = current;
        return true;
    }

    /// <summary>The node holding the last part of <paramref name="key"/>; every part must exist.</summary>
    private (CfgNode Parent, string LeafKey) ParentOf(string key, string operation)
    {
        var parts = key.Split('.');
        var node = this;
        for (var i = 0; i < parts.Length; i++)
        {
            if (!node._entries.TryGetValue(parts[i], out var child))
            {
                throw UnknownKey(FullKey(key), node, parts[i], operation);
            }

            if (i == parts.Length - 1)
            {
                return (node, parts[i]);
            }

            node = child as CfgNode
                ?? throw new ConfigException($"Non-existent config key: {FullKey(key)} ({node.FullKey(parts[i])} is a value, not a group).") { Key = FullKey(key) };
        }

        throw new InvalidOperationException("unreachable");
    }

    private ConfigException UnknownKey(string fullKey, CfgNode node, string missing, string where)
    {
        var suggestions = KeySuggestions.For(this, node, missing);
        var hint = suggestions.Count == 0 ? string.Empty : " Did you mean " + string.Join(" or ", suggestions) + "?";
        return new ConfigException($"Non-existent config key: {fullKey} ({where}).{hint}") { Key = fullKey };
    }

    private static ConfigException GroupNotValue(string fullKey, string where) =>
        new($"Config key {fullKey} is a group of keys, not a value ({where}); set its keys one by one, e.g. {fullKey}.<KEY>.") { Key = fullKey };

    private string FullKey(string key) => Join(Path, key);

    private static string Join(string path, string key) => path.Length == 0 ? key : path + "." + key;
}
