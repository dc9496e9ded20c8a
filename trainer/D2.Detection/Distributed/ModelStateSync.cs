using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Distributed;

/// <summary>
/// DistributedDataParallel's start: every rank takes rank 0's parameters and buffers (in the module's state order), so
/// all ranks train the same weights whatever their own random initialisation was.
/// </summary>
public static class ModelStateSync
{
    /// <summary>Overwrites every parameter and buffer of <paramref name="model"/> with rank <paramref name="root"/>'s.</summary>
    public static void Broadcast(IProcessGroup group, nn.Module model, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(model);
        if (group.WorldSize == 1)
            return;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (_, tensor) in model.state_dict())
        {
            if (tensor.numel() == 0)
                continue;
            if (tensor.is_contiguous())
            {
                group.Broadcast(tensor, root);
            }
            else
            {
                var copy = tensor.contiguous();
                group.Broadcast(copy, root);
                tensor.copy_(copy);
            }
        }
    }

    /// <summary>Rank <paramref name="root"/>'s value of a number, on every rank.</summary>
    public static long BroadcastInt64(IProcessGroup group, long value, int root = 0)
    {
        ArgumentNullException.ThrowIfNull(group);
        if (group.WorldSize == 1)
            return value;
        using var t = tensor(new[] { value });
        group.Broadcast(t, root);
        return t.item<long>();
    }
}
