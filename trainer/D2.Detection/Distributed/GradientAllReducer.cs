using TorchSharp;
using static TorchSharp.torch;

namespace D2.Detection.Distributed;

/// <summary>
/// DistributedDataParallel's gradient averaging: after backward, the gradients are flattened into buckets of about
/// <see cref="BucketBytes"/> (DDP's bucket_cap_mb = 25), each bucket all-reduced (average over ranks) and copied back.
/// Buckets run from the last parameter to the first, as DDP orders them. A parameter that got no gradient on this rank
/// contributes zeros (DDP with find_unused_parameters does the same), so every rank reduces the same buckets.
/// TorchSharp exposes no autograd hooks, so the reduction follows backward instead of overlapping it.
/// </summary>
public sealed class GradientAllReducer
{
    public const long DefaultBucketBytes = 25L * 1024 * 1024;

    public GradientAllReducer(IProcessGroup group, long bucketBytes = DefaultBucketBytes)
    {
        Group = group ?? throw new ArgumentNullException(nameof(group));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bucketBytes);
        BucketBytes = bucketBytes;
    }

    public IProcessGroup Group { get; }
    public long BucketBytes { get; }

    /// <summary>Bytes all-reduced by the last <see cref="AllReduce"/> (for the cost benchmark).</summary>
    public long LastBytes { get; private set; }

    /// <summary>Averages the gradients of <paramref name="parameters"/> over all ranks, in place.</summary>
    public void AllReduce(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (Group.WorldSize == 1)
            return;
        var trainable = parameters.Where(p => p.requires_grad).Reverse().ToList();
        LastBytes = 0;
        var bucket = new List<Tensor>();
        long bytes = 0;
        foreach (var parameter in trainable)
        {
            var size = parameter.numel() * parameter.element_size();
            if (bucket.Count > 0 && bytes + size > BucketBytes)
            {
                Reduce(bucket);
                bucket.Clear();
                bytes = 0;
            }
            bucket.Add(parameter);
            bytes += size;
        }
        if (bucket.Count > 0)
            Reduce(bucket);
    }

    private void Reduce(List<Tensor> bucket)
    {
        using var scope = NewDisposeScope();
        foreach (var parameter in bucket)
        {
            if (parameter.grad is null)
                parameter.grad = zeros_like(parameter).DetachFromDisposeScope();
        }
        var device = bucket[0].device;
        using var flat = cat(bucket.Select(p => p.grad!.detach().reshape(-1).to(ScalarType.Float32)).ToList()).to(device).contiguous();
        Group.AllReduce(flat, ReduceOp.Avg);
        LastBytes += flat.numel() * 4;
        long offset = 0;
        using (no_grad())
        {
            foreach (var parameter in bucket)
            {
                var grad = parameter.grad!;
                var n = grad.numel();
                grad.copy_(flat.narrow(0, offset, n).view_as(grad));
                offset += n;
            }
        }
    }
}
