using System.Text;
using System.Text.Json;
using D2.Detection.Solver;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace D2.Detection.Distributed;

/// <summary>
/// The start of data-parallel training, after rank 0 resumed or loaded: its weights, buffers, SGD momentum buffers, LR
/// schedule and start iteration on every rank. Ranks that could not see the checkpoint (another host without the
/// checkpoint folder) then continue exactly as rank 0 does.
/// </summary>
public static class TrainingStateSync
{
    /// <returns>rank 0's start iteration</returns>
    public static long FromRank0(IProcessGroup group, nn.Module model, SGD optimizer, WarmupLrScheduler scheduler, long startIter)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(scheduler);
        if (group.WorldSize == 1)
            return startIter;
        ModelStateSync.Broadcast(group, model);

        // Which momentum buffers rank 0 has (none before the first step), then their values.
        var mine = SgdState.Capture(optimizer, model);
        var names = JsonSerializer.Deserialize<string[]>(group.AllGather(JsonSerializer.SerializeToUtf8Bytes(mine.Keys.Order(StringComparer.Ordinal).ToArray()))[0])!;
        var parameters = model.named_parameters().ToDictionary(p => p.name + SgdState.MomentumSuffix, p => p.parameter);
        using (var scope = NewDisposeScope())
        {
            var received = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var name in names)
            {
                var buffer = group.Rank == 0 ? mine[name].detach().contiguous().clone()
                    : parameters.TryGetValue(name, out var parameter) ? zeros_like(parameter).contiguous()
                    : throw new InvalidOperationException($"Rank 0 has a momentum buffer for {name}, which rank {group.Rank}'s model does not have.");
                group.Broadcast(buffer, 0);
                received[name] = buffer;
            }
            SgdState.Restore(optimizer, model, received);
        }

        var schedule = Encoding.UTF8.GetString(group.AllGather(Encoding.UTF8.GetBytes(scheduler.StateToJson()))[0]);
        if (group.Rank != 0)
            scheduler.LoadStateFromJson(schedule);
        return ModelStateSync.BroadcastInt64(group, startIter);
    }
}
