namespace D2.Operations.Aws;

/// <summary>
/// Standard mode's client-side retry budget (token bucket of 500): a retry costs 5 (10 after a timeout), a
/// first-try success refunds 1, a success after retries refunds the last cost; an empty bucket stops retrying.
/// </summary>
internal sealed class AwsRetryQuota
{
    private const int Capacity = 500;
    private int _available = Capacity;

    public int Available => Volatile.Read(ref _available);

    /// <summary>Takes the cost of one retry; false (and nothing taken) when the bucket cannot pay.</summary>
    public bool TryAcquire(bool timeout, out int cost)
    {
        cost = timeout ? 10 : 5;
        while (true)
        {
            var current = Volatile.Read(ref _available);
            if (current < cost)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _available, current - cost, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>Refunds after a success: <paramref name="lastCost"/> when retries happened, else 1.</summary>
    public void Release(int lastCost)
    {
        var refund = lastCost > 0 ? lastCost : 1;
        while (true)
        {
            var current = Volatile.Read(ref _available);
            var next = Math.Min(Capacity, current + refund);
            if (Interlocked.CompareExchange(ref _available, next, current) == current)
            {
                return;
            }
        }
    }
}
