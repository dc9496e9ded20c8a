namespace D2.Detection.Checkpoint;

/// <summary>
/// fvcore's key listings for missing and unexpected keys: keys grouped by their prefix up to the last ".", so a
/// module's four FrozenBN buffers print as one line <c>backbone.res2.0.conv1.norm.{bias, running_mean, running_var, weight}</c>.
/// </summary>
public static class CheckpointKeyGroups
{
    public const string MissingHeader = "Some model parameters or buffers are not found in the checkpoint:";
    public const string UnexpectedHeader = "The checkpoint state_dict contains keys that are not used by the model:";

    /// <summary>Groups in order of first appearance (<c>_group_checkpoint_keys</c>), each formatted as <c>prefix.{a, b}</c>.</summary>
    public static IReadOnlyList<string> Group(IEnumerable<string> keys)
    {
        var groups = new List<(string Head, List<string> Tails)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var dot = key.LastIndexOf('.');
            var head = dot >= 0 ? key[..dot] : key;
            if (!index.TryGetValue(head, out var i))
            {
                index[head] = i = groups.Count;
                groups.Add((head, []));
            }
            if (dot >= 0)
                groups[i].Tails.Add(key[(dot + 1)..]);
        }
        return groups.Select(g => g.Head + GroupText(g.Tails)).ToList();
    }

    /// <summary><c>get_missing_parameters_message</c>: the header, then the groups sorted.</summary>
    public static string MissingMessage(IEnumerable<string> keys) =>
        MissingHeader + "\n" + string.Join("\n", Group(keys).Order(StringComparer.Ordinal));

    /// <summary><c>get_unexpected_parameters_message</c>: the header, then the groups indented, in checkpoint order.</summary>
    public static string UnexpectedMessage(IEnumerable<string> keys) =>
        UnexpectedHeader + "\n" + string.Join("\n", Group(keys).Select(g => "  " + g));

    private static string GroupText(List<string> tails) => tails.Count switch
    {
        0 => "",
        1 => "." + tails[0],
        _ => ".{" + string.Join(", ", tails.Order(StringComparer.Ordinal)) + "}",
    };
}
