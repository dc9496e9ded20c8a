using System.Runtime.CompilerServices;
using D2.Operations.Aws.SageMaker;

namespace D2.Operations.Steps;

/// <summary>Filtered, paginated ListTrainingJobs (newest first), stopping after <c>maxResults</c> jobs.</summary>
public static class TrainingJobListing
{
    /// <summary>Page size asked of SageMaker (its maximum).</summary>
    public const int PageSize = 100;

    public static async IAsyncEnumerable<TrainingJobSummary> ListTrainingJobsAsync(
        this OperationsContext context,
        TrainingJobStatus? status = null,
        string? nameContains = null,
        int? maxResults = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (maxResults is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(maxResults), maxResults, "MaxResults must be at least 1.");
        }

        var request = new ListTrainingJobsRequest
        {
            StatusEquals = status,
            NameContains = string.IsNullOrEmpty(nameContains) ? null : nameContains,
            MaxResults = Math.Min(PageSize, maxResults ?? PageSize),
            SortBy = ListSortBy.CreationTime,
            SortOrder = SortOrder.Descending,
        };
        var returned = 0;
        await foreach (var job in context.SageMaker.ListAllTrainingJobsAsync(request, cancellationToken).ConfigureAwait(false))
        {
            yield return job;
            if (++returned == maxResults)
            {
                yield break;
            }
        }
    }
}
