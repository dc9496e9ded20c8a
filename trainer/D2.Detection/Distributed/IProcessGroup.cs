using static TorchSharp.torch;

namespace D2.Detection.Distributed;

/// <summary>How <see cref="IProcessGroup.AllReduce"/> combines the ranks' values.</summary>
public enum ReduceOp
{
    Sum,
    /// <summary>The sum divided by the world size (gradients, losses).</summary>
    Avg,
    Max,
    Min,
}

/// <summary>
/// The collectives data-parallel training needs (torch.distributed's subset): every rank calls the same operations in
/// the same order. Each call is bounded by the group's timeout; a rank that died makes the others' calls throw instead
/// of hanging.
/// </summary>
public interface IProcessGroup : IDisposable
{
    int Rank { get; }

    int WorldSize { get; }

    /// <summary>The backend's name ("gloo", "nccl", "single").</summary>
    string Backend { get; }

    /// <summary>Reduces a contiguous float32 tensor in place over all ranks.</summary>
    void AllReduce(Tensor tensor, ReduceOp op);

    /// <summary>Overwrites a contiguous tensor on every rank with <paramref name="root"/>'s.</summary>
    void Broadcast(Tensor tensor, int root = 0);

    /// <summary>Every rank's bytes (any length), in rank order.</summary>
    byte[][] AllGather(ReadOnlySpan<byte> data);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();
}

/// <summary>The world of one process: every collective is the identity. Used when training is not distributed.</summary>
public sealed class SingleProcessGroup : IProcessGroup
{
    public static SingleProcessGroup Instance { get; } = new();

    public int Rank => 0;
    public int WorldSize => 1;
    public string Backend => "single";

    public void AllReduce(Tensor tensor, ReduceOp op) => ArgumentNullException.ThrowIfNull(tensor);
    public void Broadcast(Tensor tensor, int root = 0) => ArgumentNullException.ThrowIfNull(tensor);
    public byte[][] AllGather(ReadOnlySpan<byte> data) => [data.ToArray()];
    public void Barrier() { }
    public void Dispose() { }
}
